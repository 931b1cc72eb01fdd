"""The OData catalogue at /odata/v1 over a real items index: search, paging, lookups,
errors in FastAPI's shape, downloads with ranges and tokens, private products."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import build_services, create_app
from eostation.catalog.odata.service import build_odata
from eostation.catalog.sqlite import SqliteItemIndex
from eostation.config import Settings
from tests.conftest import seed_database
from tests.odata_support import (
    OPENEO_IDS,
    TUTORIAL_FILTER,
    IndexCatalog,
    olci_items,
    s5p_item,
)

N_OLCI = 25


def make_client(settings: Settings, owner_items: dict[str, list[dict[str, Any]]]) -> TestClient:
    services = build_services(settings)
    index = SqliteItemIndex(settings.data_dir / "items.db")
    files_item = {**s5p_item(), "id": "field-survey-2018", "collection": "my_files"}
    files_item["properties"] = {"datetime": "2018-06-01T00:00:00Z"}
    index.upsert([*olci_items(N_OLCI), s5p_item(), files_item])
    for owner, items in owner_items.items():
        index.upsert(items, owner=owner)
    services.odata = build_odata(
        settings, services.db, services.collections, IndexCatalog(index, OPENEO_IDS)
    )
    return TestClient(create_app(settings, services))


@pytest.fixture
def odata(tmp_path: Path, migrated_database: Path) -> Iterator[TestClient]:
    seed_database(tmp_path / "data", migrated_database)
    settings = Settings(
        data_dir=tmp_path / "data", dask_workers=0, secret_key="t", allowed_hosts=["testserver"]
    )
    settings.odata.product_max_pixels = 16
    with make_client(settings, {}) as client:
        yield client


def products(client: TestClient, **params: str) -> dict[str, Any]:
    resp = client.get("/odata/v1/Products", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_the_tutorial_search_pages_with_next_links(odata: TestClient) -> None:
    first = products(odata, **{"$filter": TUTORIAL_FILTER, "$top": "10", "$count": "True"})
    assert first["@odata.context"] == "$metadata#Products"
    # frames start every 90 min from 2018-06-01T15:14:19: 22 before 06-02T23:59:59.999, of
    # which every eighth (k % 8 == 0, at 84°W..82°W) misses the Arctic polygon
    assert first["@odata.count"] == 19
    names = [p["Name"] for p in first["value"]]
    assert len(names) == 10 and all(n.endswith(".SEN3") for n in names)
    seen = list(names)
    link = first["@odata.nextLink"]
    while link:
        page = odata.get(link).json()
        seen += [p["Name"] for p in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 19


def test_orderby_count_select_and_top_zero(odata: TestClient) -> None:
    body = products(
        odata, **{"$orderby": "ContentDate/Start desc", "$top": "3", "$select": "Name,ContentDate"}
    )
    starts = [p["ContentDate"]["Start"] for p in body["value"]]
    assert (
        starts == sorted(starts, reverse=True) and starts[0] == "2018-06-03T03:14:19.000Z"
    )  # k = 24
    assert set(body["value"][0]) == {"@odata.mediaContentType", "Name", "ContentDate"}
    counted = products(
        odata, **{"$top": "0", "$count": "1", "$filter": "Collection/Name eq 'SENTINEL-5P'"}
    )
    assert (
        counted["value"] == [] and counted["@odata.count"] == 1 and "@odata.nextLink" not in counted
    )


def test_name_lookup_entity_filterlist_and_expand(odata: TestClient) -> None:
    name = olci_items(3)[2]["id"] + ".SEN3"
    [found] = products(odata, **{"$filter": f"Name eq '{name}'", "$expand": "Attributes"})["value"]
    assert found["Name"] == name
    attrs = {a["Name"]: a["Value"] for a in found["Attributes"]}
    assert attrs["relativeOrbitNumber"] == 3 and attrs["platformSerialIdentifier"] == "A"
    entity = odata.get(f"/odata/v1/Products({found['Id']})").json()
    assert entity["Id"] == found["Id"] and entity["Name"] == name and "value" not in entity
    listed = odata.post(
        "/odata/v1/Products/OData.CSC.FilterList",
        json={"FilterProducts": [{"Name": name}, {"Name": "S3B_NOT_THERE.SEN3"}]},
    ).json()
    assert [p["Name"] for p in listed["value"]] == [name]


@pytest.mark.parametrize(
    ("params", "loc", "words"),
    [
        (
            {"$filter": "Name eq 'a' and Nmae eq 'b'"},
            ["query", "$filter", 16],
            "unknown property 'Nmae'",
        ),
        ({"$top": "1001"}, ["query", "$top"], "between 0 and 1000"),
        ({"$skip": "10001"}, ["query", "$skip"], "between 0 and 10000"),
        ({"$orderby": "Name"}, ["query", "$orderby"], "cannot sort"),
    ],
)
def test_bad_parameters_get_422_in_fastapi_shape(
    odata: TestClient, params: dict[str, str], loc: list[Any], words: str
) -> None:
    resp = odata.get("/odata/v1/Products", params=params)
    assert resp.status_code == 422
    [detail] = resp.json()["detail"]
    assert detail["loc"] == loc and words in detail["msg"] and detail["type"] == "value_error"
    assert detail["input"] == next(iter(params.values()))


def test_unknown_product_is_404_and_no_nextlink_past_the_skip_limit(odata: TestClient) -> None:
    resp = odata.get("/odata/v1/Products(00000000-0000-0000-0000-000000000000)")
    assert resp.status_code == 404 and "detail" in resp.json()
    body = products(odata, **{"$skip": "10000", "$top": "5"})
    assert body["value"] == [] and "@odata.nextLink" not in body


def test_download_is_the_announced_zip_with_ranges_and_nodes(odata: TestClient) -> None:
    [product] = products(odata, **{"$filter": "Collection/Name eq 'SENTINEL-5P'"})["value"]
    assert product["Checksum"] == []
    url = f"/odata/v1/Products({product['Id']})/$value"
    resp = odata.get(url)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    assert len(resp.content) == product["ContentLength"]
    assert product["Name"] + ".zip" in resp.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        assert zf.namelist() == [product["Name"]]
    head = odata.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(resp.content)
    part = odata.get(url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == resp.content[10:110]
    again = odata.get(f"/odata/v1/Products({product['Id']})").json()
    md5 = next(c["Value"] for c in again["Checksum"] if c["Algorithm"] == "MD5")
    import hashlib

    assert md5 == hashlib.md5(resp.content).hexdigest()
    [node] = odata.get(f"/odata/v1/Products({product['Id']})/Nodes").json()["result"]
    assert node["Name"] == product["Name"] and node["ContentLength"] > 0


def test_olci_nodes_are_the_sen3_folder(odata: TestClient) -> None:
    item = olci_items(1)[0]
    [product] = products(odata, **{"$filter": f"Name eq '{item['id']}.SEN3'"})["value"]
    base = f"/odata/v1/Products({product['Id']})"
    [root] = odata.get(f"{base}/Nodes").json()["result"]
    assert root["Name"] == product["Name"] and root["ChildrenNumber"] == 24
    children = odata.get(root["Nodes"]["uri"]).json()["result"]
    names = {c["Name"] for c in children}
    assert {"xfdumanifest.xml", "geo_coordinates.nc", "Oa21_radiance.nc"} <= names
    assert odata.get(f"{base}/Nodes(nope)/Nodes").status_code == 404


def _token(client: TestClient, user: str, password: str) -> str:
    resp = client.get("/openeo/1.2/credentials/basic", auth=(user, password))
    token: str = resp.json()["access_token"]
    return token


def test_private_products_are_visible_to_their_owner_only(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", dask_workers=0, secret_key="t", allowed_hosts=["testserver"]
    )
    mine = s5p_item()
    mine.update(id="alice-job-1-2018-06-01", collection="results-alice")
    with make_client(settings, {"alice": [mine]}) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        services.users.add("alice", "pw-alice-123")
        services.users.add("bob", "pw-bob-12345")
        alice = {"Authorization": f"Bearer basic//{_token(client, 'alice', 'pw-alice-123')}"}
        bob = {"Authorization": f"Bearer basic//{_token(client, 'bob', 'pw-bob-12345')}"}
        flt = {"$filter": "Name eq 'alice-job-1-2018-06-01'"}
        [product] = client.get("/odata/v1/Products", params=flt, headers=alice).json()["value"]
        assert client.get("/odata/v1/Products", params=flt, headers=bob).json()["value"] == []
        assert client.get("/odata/v1/Products", params=flt).json()["value"] == []
        pid = product["Id"]
        assert client.get(f"/odata/v1/Products({pid})", headers=alice).status_code == 200
        assert client.get(f"/odata/v1/Products({pid})", headers=bob).status_code == 404
        value = f"/odata/v1/Products({pid})/$value"
        assert client.get(value, headers=bob).status_code == 404
        assert client.get(value).status_code == 401
        token = _token(client, "bob", "pw-bob-12345")
        assert client.get(value, params={"token": "basic//" + token}).status_code == 404
        forged = client.get(value, params={"token": "basic//not-a-token"})
        # CDSE answers bad or expired tokens with 401: the scripts' cue to refresh
        assert forged.status_code == 401 and "detail" in forged.json()
        assert "invalid_token" in forged.headers["www-authenticate"]


def test_products_without_a_package_say_so(odata: TestClient) -> None:
    [product] = products(odata, **{"$filter": "Collection/Name eq 'my_files'"})["value"]
    assert product["Name"] == "field-survey-2018" and product["ContentLength"] == 0
    resp = odata.get(f"/odata/v1/Products({product['Id']})/$value")
    assert resp.status_code == 501 and "my_files" in resp.json()["detail"]


def test_date_filters_use_datetime_for_items_without_sensing_times(odata: TestClient) -> None:
    inside = "ContentDate/Start ge 2018-05-31T00:00:00Z and ContentDate/End lt 2018-06-02"
    outside = "ContentDate/Start ge 2018-06-02T00:00:00Z"
    for flt, count in ((inside, 1), (outside, 0)):
        body = products(odata, **{"$filter": f"Collection/Name eq 'my_files' and {flt}"})
        assert len(body["value"]) == count
    [product] = products(odata, **{"$filter": "Collection/Name eq 'my_files'"})["value"]
    assert product["ContentDate"]["Start"] == "2018-06-01T00:00:00.000Z"


def test_translated_filters_skip_the_cql2_schema_check_and_still_filter(odata: TestClient) -> None:
    """The schema check costs ~80 ms per new expression and is meant for clients' CQL2: a
    $filter translated by the server skipped none of its terms, only that check."""
    from eostation.catalog.match import _validate

    _validate.cache_clear()
    first = products(odata, **{"$filter": TUTORIAL_FILTER, "$count": "True", "$top": "0"})
    narrower = TUTORIAL_FILTER.replace("2018-06-02T23:59:59.999Z", "2018-06-01T23:59:59.999Z")
    assert narrower != TUTORIAL_FILTER
    second = products(odata, **{"$filter": narrower, "$count": "True", "$top": "0"})
    assert _validate.cache_info().misses == 0
    assert first["@odata.count"] == 19 and 0 < second["@odata.count"] < 19

"""The STAC API at /stac/v1 through the in-process app: documents, search semantics, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.stac_check import assert_valid_stac

BBOX = "4.30,50.80,4.315,50.81"
MAY = "2022-05-01T00:00:00Z/2022-05-31T23:59:59Z"


def _search(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/stac/v1/search", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body: dict[str, Any] = r.json()
    return body


def test_landing_page_links_conformance_and_openeo(client: TestClient) -> None:
    landing = client.get("/stac/v1/").json()
    assert_valid_stac(landing)
    rels = {(link["rel"], link.get("method")) for link in landing["links"]}
    assert {("search", "GET"), ("search", "POST"), ("data", None), ("conformance", None)} <= rels
    conforms = set(client.get("/stac/v1/conformance").json()["conformsTo"])
    assert conforms == set(landing["conformsTo"])
    assert "https://api.stacspec.org/v1.0.0/item-search#filter" in conforms
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conforms


def test_collections_validate_and_map_to_openeo_ids(client: TestClient) -> None:
    body = client.get("/stac/v1/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert by_id["sentinel-2-l2a"]["eostation:collection"] == "SENTINEL2_L2A"
    assert by_id["sentinel-1-grd"]["eostation:collection"] == "SENTINEL1_GRD"
    for doc in body["collections"]:
        assert_valid_stac(doc)
    one = client.get("/stac/v1/collections/sentinel-2-l2a").json()
    assert {link["rel"] for link in one["links"]} >= {"self", "root", "items"}


def test_search_items_validate_and_carry_cdse_properties(client: TestClient) -> None:
    body = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", limit=3)
    assert body["numberMatched"] == 6 and body["numberReturned"] == 3
    for item in body["features"]:
        assert_valid_stac(item)
        props = item["properties"]
        assert props["s2:mgrs_tile"] == "31UES" and props["grid:code"] == "MGRS-31UES"
        assert props["platform"] in ("sentinel-2a", "sentinel-2b")
        assert props["constellation"] == "sentinel-2" and props["instruments"] == ["msi"]
        assert props["proj:epsg"] == 32631
        assert item["assets"]["B04_10m"]["proj:transform"][:3] == [10.0, 0.0, 499980.0]
        assert item["assets"]["B04_10m"]["href"].startswith("http://testserver/stac/v1/assets/")
    days = [i["properties"]["datetime"][:10] for i in body["features"]]
    assert days == ["2022-05-30", "2022-05-25", "2022-05-20"]  # newest first


def test_item_endpoint_round_trips_an_id(client: TestClient) -> None:
    item = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", limit=1)[
        "features"
    ][0]
    r = client.get(f"/stac/v1/collections/sentinel-2-l2a/items/{item['id']}")
    assert r.status_code == 200
    assert r.json()["properties"] == item["properties"]
    assert r.json()["geometry"] == item["geometry"]
    by_ids = _search(client, ids=item["id"], collections="sentinel-2-l2a")
    assert [f["id"] for f in by_ids["features"]] == [item["id"]]


def test_get_paging_with_tokens_visits_every_item_once(client: TestClient) -> None:
    seen: list[str] = []
    url: str | None = (
        f"/stac/v1/search?bbox={BBOX}&datetime={MAY}&collections=sentinel-2-l2a&limit=4"
    )
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 6


def test_post_search_next_link_merges_a_token(client: TestClient) -> None:
    body = {"bbox": [4.30, 50.80, 4.315, 50.81], "datetime": MAY, "limit": 5}
    body["collections"] = ["sentinel-2-l2a"]
    first = client.post("/stac/v1/search", json=body).json()
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    assert nxt["method"] == "POST" and nxt["merge"] is True
    second = client.post("/stac/v1/search", json={**body, **nxt["body"]}).json()
    assert second["numberReturned"] == 1
    assert not [link for link in second["links"] if link["rel"] == "next"]


def test_filter_text_json_and_query_agree(client: TestClient) -> None:
    base = {"bbox": BBOX, "datetime": MAY, "collections": "sentinel-2-l2a"}
    every = _search(client, **base)["features"]
    expected = sorted(i["id"] for i in every if i["properties"]["eo:cloud_cover"] < 30)
    assert 0 < len(expected) < len(every)  # the filter does select
    text = _search(client, **base, filter="eo:cloud_cover < 30")
    cql_json = json.dumps({"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]})
    as_json = _search(client, **base, filter=cql_json, **{"filter-lang": "cql2-json"})
    query = _search(client, **base, query=json.dumps({"eo:cloud_cover": {"lt": 30}}))
    for body in (text, as_json, query):
        assert sorted(f["id"] for f in body["features"]) == expected
        assert body["numberMatched"] == len(expected)


def test_spatial_filter_s_intersects(client: TestClient) -> None:
    f = "S_INTERSECTS(geometry, POLYGON((4.30 50.80, 4.31 50.80, 4.31 50.81, 4.30 50.80)))"
    body = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", filter=f)
    assert body["numberMatched"] == 6
    far = "S_INTERSECTS(geometry, POLYGON((40 10, 41 10, 41 11, 40 10)))"
    body = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", filter=far)
    assert body["numberMatched"] == 0


@pytest.mark.parametrize("sortby", ["eo:cloud_cover", "+properties.eo:cloud_cover"])
def test_sortby_with_or_without_prefix(client: TestClient, sortby: str) -> None:
    body = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", sortby=sortby)
    covers = [f["properties"]["eo:cloud_cover"] for f in body["features"]]
    assert covers == sorted(covers) and len(covers) == 6
    desc = _search(
        client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", sortby="-eo:cloud_cover"
    )
    assert [f["properties"]["eo:cloud_cover"] for f in desc["features"]] == covers[::-1]


def test_fields_include_and_exclude(client: TestClient) -> None:
    body = _search(
        client,
        bbox=BBOX,
        datetime=MAY,
        collections="sentinel-2-l2a",
        limit=1,
        fields="id,properties.eo:cloud_cover,-assets",
    )
    item = body["features"][0]
    assert set(item) == {"id", "type", "stac_version", "properties"}
    assert set(item["properties"]) == {"eo:cloud_cover"}


def test_open_interval_and_instant(client: TestClient) -> None:
    open_end = _search(client, bbox=BBOX, datetime="2022-05-28T00:00:00Z/..", limit=1,
                       collections="sentinel-2-l2a")  # fmt: skip
    assert open_end["features"][0]["properties"]["datetime"] > "2022-05-28"
    open_start = _search(client, bbox=BBOX, datetime="../2017-04-10T00:00:00Z",
                         collections="sentinel-2-l2a")  # fmt: skip
    assert all(f["properties"]["datetime"] < "2017-04-10" for f in open_start["features"])
    assert open_start["numberMatched"] >= 1
    instant = open_end["features"][0]["properties"]["datetime"]
    exact = _search(client, bbox=BBOX, datetime=instant, collections="sentinel-2-l2a")
    assert exact["numberMatched"] == 1


def test_items_endpoint_of_a_collection(client: TestClient) -> None:
    r = client.get(
        "/stac/v1/collections/sentinel-1-grd/items", params={"bbox": BBOX, "datetime": MAY}
    )
    assert r.status_code == 200
    items = r.json()["features"]
    assert items and all(i["collection"] == "sentinel-1-grd" for i in items)
    states = {i["properties"]["sat:orbit_state"] for i in items}
    assert states == {"ascending", "descending"}
    for item in items:
        assert_valid_stac(item)


@pytest.mark.parametrize(
    ("params", "status", "names"),
    [
        ({"bbox": "1,2,3"}, 400, "bbox"),
        ({"bbox": "4,50,3,51"}, 400, "bbox"),
        ({"bbox": "a,b,c,d"}, 400, "bbox"),
        ({"bbox": BBOX, "filter": "eo:cloud_cover <<< 3"}, 400, "filter"),
        ({"bbox": BBOX, "datetime": "yesterday"}, 400, "datetime"),
        ({"bbox": BBOX, "limit": "0"}, 400, "limit"),
        ({"bbox": BBOX, "collections": "nope"}, 404, "nope"),
        ({"bbox": BBOX, "token": "garbage"}, 400, "token"),
        ({"bbox": BBOX, "query": "{not json"}, 400, "query"),
        ({"bbox": BBOX, "intersects": "{}"}, 400, "intersects"),
        ({"collections": "sentinel-2-l2a"}, 400, "bbox"),
        ({"bbox": "-180,-80,180,80", "collections": "sentinel-2-l2a"}, 400, "bbox"),
    ],
)
def test_bad_requests_get_stac_errors_naming_the_parameter(
    client: TestClient, params: dict[str, str], status: int, names: str
) -> None:
    r = client.get("/stac/v1/search", params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"code", "description"}
    assert names in body["description"]


def test_unknown_item_and_collection_are_404(client: TestClient) -> None:
    r = client.get("/stac/v1/collections/sentinel-2-l2a/items/S2A_nothing")
    assert r.status_code == 404 and r.json()["code"] == "ItemNotFound"
    r = client.get("/stac/v1/collections/nope")
    assert r.status_code == 404 and r.json()["code"] == "CollectionNotFound"
    r = client.post("/stac/v1/search", content=b"{nope")
    assert r.status_code == 400 and "body" in r.json()["description"]


def test_openeo_capabilities_link_to_the_stac_api_and_back(client: TestClient) -> None:
    links = client.get("/openeo/1.2/").json()["links"]
    [search] = [link for link in links if link["rel"] == "search"]
    assert search["href"] == "http://testserver/stac/v1/search"
    landing = client.get("/stac/v1/").json()
    [back] = [link for link in landing["links"] if link["rel"] == "service-doc"]
    assert back["href"] == "http://testserver/openeo/1.2/"
    assert client.get(search["href"].removeprefix("http://testserver")).status_code == 400


@pytest.mark.parametrize(
    ("collection", "datetime"),
    [
        ("sentinel-1-grd", "2022-05-01T00:00:00Z/2022-05-07T00:00:00Z"),
        ("sentinel-3-olci-1-efr", "2022-05-01T00:00:00Z/2022-05-02T00:00:00Z"),
        ("sentinel-3-sl-1-rbt", "2022-05-01T00:00:00Z/2022-05-02T00:00:00Z"),
        ("sentinel-3-syn-2-syn", "2022-05-01T00:00:00Z/2022-05-02T00:00:00Z"),
        ("sentinel-3-sl-2-lst", "2022-05-01T00:00:00Z/2022-05-02T00:00:00Z"),
        ("sentinel-5p-l2", "2022-05-01T00:00:00Z/2022-05-02T00:00:00Z"),
        ("cop-dem-glo-30-dged-cog", "2011-01-01T00:00:00Z/2011-01-02T00:00:00Z"),
    ],
)
def test_every_demo_collection_has_valid_items_with_cog_assets(
    client: TestClient, collection: str, datetime: str
) -> None:
    body = _search(client, bbox=BBOX, datetime=datetime, collections=collection, limit=2)
    assert body["numberMatched"] >= 1
    item = body["features"][0]
    assert_valid_stac(item)
    assert item["properties"]["eostation:synthetic"] is True
    from shapely.geometry import box, shape

    assert shape(item["geometry"]).intersects(box(4.30, 50.80, 4.315, 50.81))
    again = client.get(f"/stac/v1/collections/{collection}/items/{item['id']}").json()
    assert again["id"] == item["id"] and again["geometry"] == item["geometry"]
    key, asset = next(iter(item["assets"].items()))
    href = asset["href"].removeprefix("http://testserver")
    head = client.head(href)
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes"
    ny, nx = asset["proj:shape"]
    itemsize = 4 if asset["raster:bands"][0]["data_type"] == "float32" else 2
    assert int(head.headers["content-length"]) >= ny * nx * (1 if "SCL" in key else itemsize)
    part = client.get(href, headers={"Range": "bytes=0-15"})
    assert part.status_code == 206 and part.content[:4] == b"II*\x00"
    assert part.headers["content-range"] == f"bytes 0-15/{head.headers['content-length']}"


@pytest.mark.slow
def test_bad_ranges_and_unknown_assets(client: TestClient) -> None:
    item = _search(client, bbox=BBOX, datetime=MAY, collections="sentinel-2-l2a", limit=1)[
        "features"
    ][0]
    href = item["assets"]["B04_10m"]["href"].removeprefix("http://testserver")
    assert client.get(href, headers={"Range": "bytes=5-2"}).status_code == 400
    r = client.get(href, headers={"Range": "bytes=0-1,5-9"})
    assert r.status_code == 400 and "Range" in r.json()["description"]
    size = int(client.head(href).headers["content-length"])
    assert client.get(href, headers={"Range": f"bytes={size}-"}).status_code == 400
    tail = client.get(href, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and len(tail.content) == 10
    r = client.get(href.replace("B04_10m", "B99_10m"))
    assert r.status_code == 404 and r.json()["code"] == "ItemNotFound"


def test_demo_search_without_a_spatial_filter_is_a_400_naming_it(client: TestClient) -> None:
    for r in (
        client.get("/stac/v1/search", params={"collections": "sentinel-2-l2a"}),
        client.post("/stac/v1/search", json={"collections": ["sentinel-5p-l2"]}),
        client.get("/stac/v1/collections/cop-dem-glo-30-dged-cog/items"),
    ):
        assert r.status_code == 400, r.text
        description = r.json()["description"]
        assert (
            "bbox/intersects: the demo collections" in description and "give a bbox" in description
        )
    named = client.get("/stac/v1/search", params={"collections": "sentinel-2-l2a"}).json()
    assert "sentinel-2-l2a" in named["description"]

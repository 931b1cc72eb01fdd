"""Items of a ``files`` collection: indexed in the background, re-indexed when files change,
assets served as the files themselves (with ranges)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasterio
import rasterio.warp
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import Settings
from tests.conftest import shared_path
from tests.stac_check import assert_valid_stac

TOML = """
[[collections]]
id = "MY_S2"
title = "Mol"
paths = ["s2/*.tif"]
date = { regex = 'openEO_(?P<date>\\d{4}-\\d{2}-\\d{2})Z', format = "%Y-%m-%d" }
bands = [{ name = "B04" }, { name = "B03" }, { name = "B02" }]
"""


@pytest.fixture
def files_client(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    mol = shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")
    data = tmp_path / "data"
    (data / "s2").mkdir(parents=True)
    for day in ("2023-06-01", "2023-06-04"):
        shutil.copy(mol / f"openEO_{day}Z.tif", data / "s2")
    (data / "collections.toml").write_text(TOML)
    settings = Settings(
        data_dir=data, dask_workers=0, secret_key="test-secret", allowed_hosts=["testserver"]
    )
    with TestClient(create_app(settings)) as client:
        assert client.app.state.files_indexer.wait(60)  # type: ignore[attr-defined]
        yield client, data


def test_files_become_items_with_the_file_as_asset(files_client: tuple[TestClient, Path]) -> None:
    client, data = files_client
    body = client.get("/stac/v1/collections/MY_S2/items", params={"limit": 10}).json()
    assert body["numberMatched"] == 2
    items = {i["properties"]["datetime"][:10]: i for i in body["features"]}
    assert set(items) == {"2023-06-01", "2023-06-04"}
    item = items["2023-06-04"]
    assert_valid_stac(item)
    with rasterio.open(data / "s2" / "openEO_2023-06-04Z.tif") as ds:
        w, s, e, n = rasterio.warp.transform_bounds(ds.crs, 4326, *ds.bounds)
        assert item["bbox"] == pytest.approx([w, s, e, n], abs=1e-6)
        assert item["assets"]["data"]["proj:epsg"] == ds.crs.to_epsg() == 32631
    # The asset is the file itself, ranges included.
    href = item["assets"]["data"]["href"].removeprefix("http://testserver")
    raw = (data / "s2" / "openEO_2023-06-04Z.tif").read_bytes()
    assert client.get(href).content == raw
    part = client.get(href, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == raw[100:300]
    # Spatial and temporal search reach the files collection too.
    hit = client.get("/stac/v1/search", params={"collections": "MY_S2", "bbox": "5.0,51.1,5.2,51.3",
                                                 "datetime": "2023-06-03T00:00:00Z/.."})  # fmt: skip
    assert [f["id"] for f in hit.json()["features"]] == [item["id"]]
    miss = client.get("/stac/v1/search", params={"collections": "MY_S2", "bbox": "10,10,11,11"})
    assert miss.json()["numberMatched"] == 0


def test_changed_files_are_reindexed(files_client: tuple[TestClient, Path]) -> None:
    client, data = files_client
    indexer = client.app.state.files_indexer  # type: ignore[attr-defined]
    mol = shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")
    assert indexer.sync() == 0  # nothing changed: nothing rewritten
    shutil.copy(mol / "openEO_2023-06-06Z.tif", data / "s2")
    (data / "s2" / "openEO_2023-06-01Z.tif").unlink()
    assert indexer.sync() == 2
    body = client.get("/stac/v1/collections/MY_S2/items").json()
    assert sorted(i["properties"]["datetime"][:10] for i in body["features"]) == [
        "2023-06-04",
        "2023-06-06",
    ]
    later = os.stat(data / "s2" / "openEO_2023-06-04Z.tif").st_mtime + 10
    os.utime(data / "s2" / "openEO_2023-06-04Z.tif", (later, later))
    assert indexer.sync() == 2  # a touched file re-indexes its collection
    gone = client.get("/stac/v1/files/MY_S2/openEO_2023-06-01Z")
    assert gone.status_code == 404 and gone.json()["code"] == "ItemNotFound"

"""The HEALPix/Zarr archive's holdings as STAC items of its collection, and loadable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from healpix_geo import nested

from eostation.api.app import create_app
from eostation.archive import Archive
from eostation.config import Settings
from eostation.data.base import LoadRequest
from tests.s3_server import S3Emulator, s3_emulator  # noqa: F401
from tests.unit.archive.conftest import make_cube

BBOX = (10.0, 45.0, 10.04, 45.03)


def _app(tmp_path: Path) -> tuple[TestClient, Archive]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "collections.toml").write_text(
        '[[collections]]\ntype = "archive"\nid = "ARCH"\npath = "a.zarr"\nresolution = 0.0005\n'
    )
    settings = Settings(
        data_dir=data, dask_workers=0, secret_key="test-secret", allowed_hosts=["testserver"]
    )
    return TestClient(create_app(settings)), Archive(data / "a.zarr")


def _shards(bbox: tuple[float, float, float, float], level: int) -> set[int]:
    """The shard cells holding the pixel centres of a 0.0002° grid over ``bbox``."""
    w, s, e, n = bbox
    lon, lat = np.meshgrid(np.arange(w + 1e-4, e, 2e-4), np.arange(s + 1e-4, n, 2e-4))
    cells = nested.lonlat_to_healpix(lon.ravel(), lat.ravel(), level, ellipsoid="WGS84")
    return {int(c) for c in np.unique(cells)}


def test_archive_holdings_are_items_that_load(tmp_path: Path) -> None:
    client, archive = _app(tmp_path)
    with client:
        empty = client.get("/stac/v1/collections/ARCH/items")
        assert empty.status_code == 200 and empty.json()["features"] == []

        archive.ingest(make_cube(BBOX, 0.0002, ["2023-06-01", "2023-06-06"],
                                 lambda x, y, k: 5.0 + k + 0 * x * y))  # fmt: skip
        level = archive.grid.shard_level
        shards = _shards(BBOX, level)
        body = client.get("/stac/v1/search", params={"collections": "ARCH", "limit": 100}).json()
        got = {(f["properties"]["datetime"][:10], f["properties"]["healpix:cell"])
               for f in body["features"]}  # fmt: skip
        assert got == {(d, c) for d in ("2023-06-01", "2023-06-06") for c in shards}
        assert body["numberMatched"] == 2 * len(shards)

        item = body["features"][0]
        assert item["collection"] == "ARCH" and item["properties"]["eostation:bands"] == ["a", "b"]
        w, s, e, n = item["bbox"]
        assert w <= BBOX[0] + 0.04 and s <= BBOX[3] and e >= BBOX[0] and n >= BBOX[1]
        one = client.get(f"/stac/v1/collections/ARCH/items/{item['id']}")
        assert one.status_code == 200 and one.json()["id"] == item["id"]
        # A spatial search finds it; one far away does not.
        near = client.get("/stac/v1/search", params={"collections": "ARCH",
                                                      "bbox": "10.01,45.01,10.02,45.02"})  # fmt: skip
        assert near.json()["numberMatched"] == 2 * len(_shards((10.01, 45.01, 10.02, 45.02), level))
        far = client.get(
            "/stac/v1/search", params={"collections": "ARCH", "bbox": "-60,-10,-59,-9"}
        )
        assert far.json()["features"] == []

        # The item's load arguments read its pixels (date index 1 was ingested as 5 + 1).
        load = next(f for f in body["features"]
                    if f["properties"]["datetime"].startswith("2023-06-06"))["properties"]["eostation:load"]  # fmt: skip
        extent = load["spatial_extent"]
        clipped = (max(extent["west"], BBOX[0]), max(extent["south"], BBOX[1]),
                   min(extent["east"], BBOX[2]), min(extent["north"], BBOX[3]))  # fmt: skip
        source = client.app.state.services.collections.get("ARCH")  # type: ignore[attr-defined]
        cube = source.load(LoadRequest(bbox=clipped, temporal=tuple(load["temporal_extent"]),
                                       bands=["a"]))  # fmt: skip
        assert cube.sizes["t"] == 1 and str(cube.t.values[0])[:10] == "2023-06-06"
        values = cube.values[np.isfinite(cube.values)]
        assert values.size > 0
        np.testing.assert_allclose(values, 6.0, rtol=1e-6)

        # A new date ingested later shows up at the next search.
        archive.ingest(make_cube(BBOX, 0.0002, ["2023-06-11"], lambda x, y, k: 9.0 + 0 * x * y))
        later = client.get("/stac/v1/search", params={"collections": "ARCH",
                                                       "datetime": "2023-06-10T00:00:00Z/.."})  # fmt: skip
        assert later.json()["numberMatched"] == len(shards)


@pytest.mark.slow
def test_an_archive_on_s3_is_searched_and_loaded(
    settings: Settings,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    url = f"s3://{s3_emulator.bucket()}/arch.zarr"
    Archive(url, options=s3_emulator.options).ingest(
        make_cube(BBOX, 0.0002, ["2023-06-01"], lambda x, y, k: 4.0 + 0 * x * y, bands=("a",))
    )
    (settings.data_dir / "collections.toml").write_text(
        f'[[collections]]\ntype = "archive"\nid = "ARCH"\npath = "{url}"\nresolution = 0.0005\n'
    )
    settings.storage.options = s3_emulator.options
    with TestClient(create_app(settings)) as client:
        body = client.get("/stac/v1/search", params={"collections": "ARCH"}).json()
        shards = _shards(BBOX, 7)
        assert {f["properties"]["healpix:cell"] for f in body["features"]} == shards
        graph = {
            "l": {
                "process_id": "load_collection",
                "arguments": {"id": "ARCH", "temporal_extent": ["2023-06-01", "2023-06-02"],
                              "spatial_extent": {"west": 10.01, "south": 45.01, "east": 10.03,
                                                 "north": 45.02}},
            },
            "m": {"process_id": "reduce_dimension", "arguments": {
                "data": {"from_node": "l"}, "dimension": "t",
                "reducer": {"process_graph": {"x": {"process_id": "max", "arguments": {
                    "data": {"from_parameter": "data"}}, "result": True}}}}},
            "s": {"process_id": "save_result",
                  "arguments": {"data": {"from_node": "m"}, "format": "GTiff"}, "result": True},
        }  # fmt: skip
        r = client.post("/openeo/1.2/result", json={"process": {"process_graph": graph}})
        assert r.status_code == 200, r.text
    with rasterio.MemoryFile(r.content) as mem, mem.open() as tif:
        assert tif.crs.to_epsg() == 4326 and (tif.width, tif.height) == (40, 20)
        np.testing.assert_allclose(tif.read(1), 4.0)

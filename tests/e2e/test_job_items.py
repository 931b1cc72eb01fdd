"""Job results as STAC: a 1.0.0 Collection linking one Item per date, valid offline.

pystac and odc.stac find the items (they did not when the results were a Collection
with assets only), and each item's ``raster:bands`` statistics are those in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openeo
import pystac
import pytest
import rasterio

from tests.stac_check import stac_validators

pytestmark = pytest.mark.e2e

ITEM_SCHEMA = ("https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json",)
COLLECTION_SCHEMA = (
    "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json",
)
EXTENSIONS = {
    "eo:": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "raster:": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "proj:": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "file:": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
}


def prefixes(value: Any) -> set[str]:
    """Every extension prefix used as a key anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= {p for p in EXTENSIONS if str(key).startswith(p)} | prefixes(item)
    elif isinstance(value, list):
        for item in value:
            found |= prefixes(item)
    return found


def assert_declared(doc: dict[str, Any]) -> None:
    used = prefixes({k: v for k, v in doc.items() if k != "links"})
    assert {EXTENSIONS[p] for p in used} <= set(doc["stac_extensions"]), doc["id"]
    assert doc["stac_version"] == "1.0.0"
    assert all("bands" not in a for a in doc["assets"].values())  # STAC 1.1 field


def assert_valid(doc: dict[str, Any], schemas: tuple[str, ...]) -> None:
    """Valid against the offline core schema; every extension prefix used is declared
    (the extension schemas themselves are not in the offline copy)."""
    for validator in stac_validators(schemas):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors
    assert_declared(doc)


@pytest.fixture(scope="module")
def gtiff_job(live_server: str) -> openeo.BatchJob:
    con = openeo.connect(live_server)
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21},
        temporal_extent=["2022-06-01", "2022-06-16"],
        bands=["B04", "B08"],
    )
    job = cube.create_job(out_format="GTiff", title="items")
    job.start_and_wait(max_poll_interval=0.3)
    return job


def test_results_link_one_valid_item_per_date(gtiff_job: openeo.BatchJob, tmp_path: Path) -> None:
    results = gtiff_job.get_results()
    doc = results.get_metadata()
    assert_valid(doc, COLLECTION_SCHEMA)
    links = [link["href"] for link in doc["links"] if link["rel"] == "item"]
    tiffs = sorted(name for name in doc["assets"] if name.endswith(".tif"))
    assert len(links) == len(tiffs) >= 2
    paths = {p.name: p for p in results.download_files(tmp_path, include_stac_metadata=False)}
    for href in links:
        item = httpx.get(href).raise_for_status().json()
        assert_valid(item, ITEM_SCHEMA)
        [asset] = item["assets"].values()
        name = asset["href"].rsplit("/", 1)[-1]
        assert item["properties"]["datetime"] == doc["assets"][name]["datetime"]
        assert item["properties"]["proj:epsg"] == 32631
        assert item["collection"] == gtiff_job.job_id
        assert {link["rel"] for link in item["links"]} >= {"self", "collection", "parent"}
        # The statistics are the file's, band by band.
        with rasterio.open(paths[name]) as ds:
            for i, band in enumerate(asset["raster:bands"]):
                values = ds.read(i + 1).astype("float64")
                assert band["statistics"]["mean"] == pytest.approx(np.nanmean(values), rel=1e-9)
                assert band["statistics"]["maximum"] == np.nanmax(values)
                assert float(ds.tags(i + 1)["STATISTICS_MINIMUM"]) == np.nanmin(values)
        assert [b["name"] for b in asset["eo:bands"]] == ["B04", "B08"]
        # The asset href downloads without a token.
        assert httpx.head(asset["href"]).status_code == 200


def test_pystac_and_odc_stac_find_the_items(gtiff_job: openeo.BatchJob) -> None:
    odc_stac = pytest.importorskip("odc.stac")
    doc = gtiff_job.get_results().get_metadata()
    collection = pystac.Collection.from_dict(doc)
    items = list(collection.get_items())
    assert len(items) == len([name for name in doc["assets"] if name.endswith(".tif")])
    assert all(list(item.assets) == ["openEO"] for item in items)  # one key across dates
    data = odc_stac.load(items, chunks={})
    assert data.sizes["time"] == len(items)
    assert sorted(data.data_vars) == ["B04", "B08"]
    with rasterio.open(items[0].assets["openEO"].href) as ds:
        np.testing.assert_array_equal(data["B08"].isel(time=0).values, ds.read(2))


def test_unknown_item_is_404(live_server: str, gtiff_job: openeo.BatchJob) -> None:
    r = httpx.get(f"{live_server}/openeo/1.2/jobs/{gtiff_job.job_id}/results/items/nope")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"

"""``result_items``: the STAC Items of a finished job, as the catalogue indexes them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from eostation.formats import default_formats
from eostation.jobs.model import FINISHED, Job
from eostation.jobs.results import asset_records, result_items, stac_results, zip_stores
from tests.stac_check import stac_validators
from tests.unit.formats.conftest import raster

ITEM = ("https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json",)
DONE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def job_with(tmp_path: Path, fmt: str) -> Job:
    files = default_formats().get_writer(fmt).write(raster(), tmp_path, {})
    results = asset_records(zip_stores(files))
    return Job(
        id="j-1", user_id="u", process={}, status=FINISHED, created=DONE, updated=DONE,
        finished=DONE, result_dir=str(tmp_path), results=results,
    )  # fmt: skip


def test_one_item_per_date_with_relative_hrefs(tmp_path: Path) -> None:
    job = job_with(tmp_path, "GTiff")
    items = result_items(job)
    assert [i["id"] for i in items] == [
        "openEO_2022-09-07Z",
        "openEO_2022-09-12Z",
        "openEO_2022-09-17Z",
    ]
    [validator] = stac_validators(ITEM)
    for item in items:
        assert not list(validator.iter_errors(item))
        [asset] = item["assets"].values()
        assert (tmp_path / asset["href"]).is_file()  # relative to the job's result directory
        assert item["properties"]["datetime"] == job.results[asset["href"]]["datetime"]  # type: ignore[index]
        assert item["properties"]["proj:epsg"] == 32633
        assert item["links"] == [] and "collection" not in item  # no URLs given
    doc = stac_results(job, lambda n: n, self_url="results", item_url=lambda i: f"items/{i}")
    assert [link["href"] for link in doc["links"] if link["rel"] == "item"] == [
        f"items/{i['id']}" for i in items
    ]


@pytest.mark.parametrize(("fmt", "name"), [("netCDF", "openEO.nc"), ("Zarr", "openEO.zarr.zip")])
def test_undated_files_form_one_item_dated_when_finished(
    tmp_path: Path, fmt: str, name: str
) -> None:
    [item] = result_items(
        job_with(tmp_path, fmt), item_url=lambda i: f"/x/{i}", collection_url="/c"
    )
    assert item["id"] == "openEO" and item["properties"]["datetime"] == "2024-03-01T12:00:00Z"
    assert item["assets"]["openEO"]["href"] == name
    assert {link["rel"] for link in item["links"]} == {"self", "collection", "parent"}
    assert item["collection"] == "j-1"

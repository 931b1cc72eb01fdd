"""CDSE notebooks run unchanged: the methane-plume notebook's core, with the official client.

The notebook loads ``SENTINEL_5P_L2`` without a spatial extent and aggregates it over a
FeatureCollection of plume polygons, synchronously and as batch jobs (many of them with
``MultiBackendJobManager``), then reads the JSON with ``timeseries_json_to_pandas``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openeo
import pandas as pd
import pytest
from openeo.extra.job_management import MultiBackendJobManager
from openeo.rest.conversions import timeseries_json_to_pandas

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e


def plume(lon: float, lat: float, size: float = 0.3) -> dict[str, Any]:
    """A square 'plume' polygon as the notebook's FeatureCollection holds them."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


PLUMES = {"type": "FeatureCollection", "features": [plume(52.0, 38.0), plume(54.0, 39.0)]}
DAYS = ["2022-06-01", "2022-06-05"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own (default runner count), so its start-up message can be read."""
    live = LiveServer(tmp_path_factory.mktemp("notebook") / "data").start()
    yield live
    live.stop()


def plume_cube(con: openeo.Connection, days: list[str], plumes: dict[str, Any]) -> Any:
    cube = con.load_collection("SENTINEL_5P_L2", temporal_extent=days, bands=["CH4"])
    return cube.aggregate_spatial(geometries=plumes, reducer="mean")


def check_series(frame: pd.DataFrame) -> None:
    """Four daily rows, two polygons, methane column values in ppb."""
    assert frame.shape == (4, 2)
    assert list(frame.index.astype(str).str[:10]) == [
        "2022-06-01",
        "2022-06-02",
        "2022-06-03",
        "2022-06-04",
    ]
    assert frame.notna().all().all()
    assert ((frame > 1700) & (frame < 2100)).all().all()


def test_plume_core_sync_and_batch_without_spatial_extent(
    server: LiveServer, tmp_path: Path
) -> None:
    con = openeo.connect(server.url)
    cube = plume_cube(con, DAYS, PLUMES)
    assert cube.flat_graph()["loadcollection1"]["arguments"]["spatial_extent"] is None
    sync = timeseries_json_to_pandas(cube.execute())
    check_series(sync)

    job = cube.create_job(out_format="JSON", title="plume")
    job.start_and_wait(max_poll_interval=0.5)
    [path] = job.get_results().download_files(tmp_path, include_stac_metadata=False)
    batch = timeseries_json_to_pandas(json.loads(path.read_text()))
    pd.testing.assert_frame_equal(batch, sync)


def test_default_runners_match_the_advertised_concurrent_jobs(server: LiveServer) -> None:
    limit = openeo.connect(server.url).describe_account()["limits"]["concurrent_jobs"]
    assert limit == 2
    assert f"{limit} runner(s)" in server.log.read_text()


def test_multi_backend_job_manager_runs_eight_plume_jobs(
    server: LiveServer, tmp_path: Path
) -> None:
    rows = [
        {"lon": 50.0 + i, "lat": 36.0 + 0.5 * i, "start": f"2022-06-{1 + i:02d}"} for i in range(8)
    ]
    for series in run_plume_jobs(server.url, pd.DataFrame(rows), tmp_path):
        # One polygon: the client returns a Series with one value per date.
        assert series.shape == (2,) and ((series > 1700) & (series < 2100)).all()
    # The manager starts two jobs at a time; with two runners they ran side by side
    # (with one runner no two run intervals could overlap).
    con = openeo.connect(server.url)
    ids = pd.read_csv(tmp_path / "jobs.csv")["id"]
    runs = sorted(
        (pd.Timestamp(info["started"]), pd.Timestamp(info["finished"]))
        for info in (con.job(job_id).describe() for job_id in ids)
    )
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(runs))


def run_plume_jobs(url: str, frame: pd.DataFrame, root: Path) -> list[pd.Series]:
    """What the notebook does for its plume list: every job must finish; their series."""
    con = openeo.connect(url)

    def start_job(row: pd.Series, connection: openeo.Connection, **_: Any) -> Any:
        end = (pd.Timestamp(row["start"]) + pd.Timedelta(days=2)).strftime("%Y-%m-%d")
        plumes = {"type": "FeatureCollection", "features": [plume(row["lon"], row["lat"])]}
        cube = plume_cube(connection, [row["start"], end], plumes)
        return cube.create_job(out_format="JSON", title=f"plume {row.name}")

    manager = MultiBackendJobManager(poll_sleep=1, root_dir=root)
    manager.add_backend("eostation", connection=con, parallel_jobs=2)
    manager.run_jobs(df=frame, start_job=start_job, job_db=root / "jobs.csv")
    done = pd.read_csv(root / "jobs.csv")
    assert len(done) == len(frame) and set(done["status"]) == {"finished"}
    # Next to each result the manager stores job_<id>.json and job-results.json.
    return [
        timeseries_json_to_pandas(json.loads((root / f"job_{i}" / "openEO.json").read_text()))
        for i in done["id"]
    ]


def test_zarr_batch_result_downloads_and_opens(server: LiveServer, tmp_path: Path) -> None:
    import numpy as np
    import xarray as xr
    import zarr

    con = openeo.connect(server.url)
    aoi = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}
    cube = con.load_collection(
        "SENTINEL2_L2A", spatial_extent=aoi, temporal_extent=["2022-06-01", "2022-06-15"],
        bands=["B04", "B08"],
    )  # fmt: skip
    job = cube.create_job(out_format="Zarr")
    job.start_and_wait(max_poll_interval=0.5)
    [path] = job.get_results().download_files(tmp_path / "zarr", include_stac_metadata=False)
    assert path.name == "openEO.zarr.zip"
    cube.download(tmp_path / "reference.nc")
    with xr.open_dataset(tmp_path / "reference.nc") as ref:
        store = zarr.storage.ZipStore(path, mode="r")
        with xr.open_zarr(store) as got:
            assert sorted(got.data_vars) == sorted(ref.data_vars)
            assert got.sizes["t"] == ref.sizes["t"] > 0
            np.testing.assert_array_equal(got["B08"].values, ref["B08"].values)

"""The seed notebooks' workflows, unchanged but for the URL, against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openeo
import pandas as pd
import pytest
from openeo.rest.conversions import timeseries_json_to_pandas

pytestmark = pytest.mark.e2e

BBOX = {"west": 54.0, "south": 38.0, "east": 55.0, "north": 38.5}  # Turkmenistan gas fields
POLYGONS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "west"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[54.0, 38.0], [54.5, 38.0], [54.5, 38.5], [54.0, 38.5], [54.0, 38.0]]
                ],
            },
        },
        {
            "type": "Feature",
            "properties": {"name": "east"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[54.5, 38.0], [55.0, 38.0], [55.0, 38.5], [54.5, 38.5], [54.5, 38.0]]
                ],
            },
        },
    ],
}


def _ch4_series(con: openeo.Connection) -> openeo.DataCube:
    ch4 = con.load_collection(
        "SENTINEL_5P_L2",
        spatial_extent=BBOX,
        temporal_extent=["2022-05-01", "2022-06-01"],
        bands=["CH4"],
    )
    return ch4.aggregate_spatial(geometries=POLYGONS, reducer="mean")


def test_ch4_daily_means_per_polygon_as_a_batch_job(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    job = _ch4_series(con).create_job(out_format="JSON", title="CH4 May 2022")
    job.start_and_wait(max_poll_interval=0.2)
    [path] = job.get_results().download_files(tmp_path, include_stac_metadata=False)
    data = json.loads(Path(path).read_text())
    frame = timeseries_json_to_pandas(data)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == [0, 1]
    assert 20 <= len(frame) <= 31
    assert all(str(d).startswith("2022-05") for d in frame.index)
    values = frame.to_numpy(dtype=float)
    assert np.isfinite(values).mean() > 0.8
    assert np.nanmin(values) > 1700 and np.nanmax(values) < 2100
    # Deterministic: a second, synchronous run gives the same numbers.
    assert _ch4_series(con).execute() == data


def test_slstr_and_ch4_means_over_time(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    slstr = con.load_collection(
        "SENTINEL3_SLSTR",
        spatial_extent=BBOX,
        temporal_extent=["2022-05-01", "2022-06-01"],
        bands=["S5", "S6"],
    ).reduce_dimension("t", reducer="mean")
    out = tmp_path / "slstr.nc"
    slstr.download(out, format="netCDF")
    import xarray as xr

    with xr.open_dataset(out) as ds:
        for band in ("S5", "S6"):
            values = ds[band].values
            assert np.isfinite(values).mean() > 0.9
            assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1.5
    ch4_mean = (
        con.load_collection(
            "SENTINEL_5P_L2",
            spatial_extent=BBOX,
            temporal_extent=["2022-05-01", "2022-06-01"],
            bands=["CH4"],
        )
        .reduce_dimension("t", reducer="mean")
        .aggregate_spatial(geometries=POLYGONS, reducer="mean")
    )
    result = ch4_mean.execute()
    flat = np.array(result, dtype=float).ravel()
    assert flat.size == 2 and np.all((flat > 1700) & (flat < 2100))

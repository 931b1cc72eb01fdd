"""Synchronous processing and user-defined processes with the official client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio
from openeo.api.process import Parameter
from openeo.rest import OpenEoApiError

pytestmark = pytest.mark.e2e
AOI = {"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21}


def test_scalar_udp_round_trip(live_server: str) -> None:
    con = openeo.connect(live_server)
    graph = {
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "factor"}},
            "result": True,
        }
    }
    con.save_user_defined_process(
        "times_factor",
        graph,
        parameters=[
            Parameter.number("x", description="value"),
            Parameter.number("factor", default=10),
        ],
        summary="x times factor",
    )
    assert "times_factor" in {p["id"] for p in con.list_user_defined_processes()}
    assert con.datacube_from_process("times_factor", x=4.5).execute() == pytest.approx(45.0)
    assert con.datacube_from_process("times_factor", x=2, factor=3).execute() == pytest.approx(6.0)
    con.user_defined_process("times_factor").delete()
    with pytest.raises(OpenEoApiError) as err:
        con.user_defined_process("times_factor").describe()
    assert err.value.code == "ProcessGraphNotFound"


def test_validation_through_the_client(live_server: str) -> None:
    con = openeo.connect(live_server)
    ok = con.datacube_from_process("add", x=1, y=2)
    assert con.validate_process_graph(ok) == []
    bad = con.datacube_from_process("add", x=1, z=2)
    errors = con.validate_process_graph(bad)
    assert {e["code"] for e in errors} >= {"ProcessParameterUnsupported"}


def test_sync_download_of_ndvi_mean(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=AOI,
        temporal_extent=["2022-06-01", "2022-07-01"],
        bands=["B04", "B08"],
    )
    ndvi = cube.ndvi().reduce_dimension("t", reducer="mean")
    out = tmp_path / "ndvi.tif"
    ndvi.download(out, format="GTiff")
    with rasterio.open(out) as ds:
        values = ds.read(1)
        assert ds.count == 1 and ds.crs.to_epsg() == 32631
    assert -1 <= float(np.nanmin(values)) <= float(np.nanmax(values)) <= 1
    assert np.isfinite(values).mean() > 0.5


def test_udp_with_a_cube_parameter_via_datacube_from_process(
    live_server: str, tmp_path: Path
) -> None:
    con = openeo.connect(live_server)
    bbox = Parameter("bbox", schema={"type": "object"})
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=bbox,
        temporal_extent=["2022-06-01", "2022-06-15"],
        bands=["B04"],
    )
    con.save_user_defined_process(
        "red_mean", cube.reduce_dimension("t", reducer="mean"), parameters=[bbox]
    )
    out = tmp_path / "red.nc"
    con.datacube_from_process("red_mean", bbox=AOI).download(out, format="netCDF")
    import xarray as xr

    with xr.open_dataset(out) as ds:
        red = ds["B04"].values
    direct = tmp_path / "direct.nc"
    cube_direct = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=AOI,
        temporal_extent=["2022-06-01", "2022-06-15"],
        bands=["B04"],
    ).reduce_dimension("t", reducer="mean")
    cube_direct.download(direct, format="netCDF")
    with xr.open_dataset(direct) as ds:
        np.testing.assert_array_equal(red, ds["B04"].values)


def test_load_result_of_a_batch_job_in_a_sync_request(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=AOI,
        temporal_extent=["2022-06-01", "2022-06-11"],
        bands=["B04"],
    )
    job = cube.create_job(out_format="netCDF", title="for load_result")
    job.start_and_wait(max_poll_interval=0.2)
    out = tmp_path / "again.nc"
    con.load_result(job.job_id).reduce_dimension("t", reducer="max").download(out, format="netCDF")
    import xarray as xr

    [original] = job.get_results().download_files(tmp_path / "orig", include_stac_metadata=False)
    with xr.open_dataset(original) as a, xr.open_dataset(out) as b:
        np.testing.assert_allclose(b["B04"].values, a["B04"].max("t").values)


def test_cloud_masked_ndvi_median_equals_a_hand_computation(
    live_server: str, tmp_path: Path
) -> None:
    """The README's example: the SCL mask and the band math run as fused kernels."""
    import xarray as xr

    con = openeo.connect(live_server)
    extent = {"spatial_extent": AOI, "temporal_extent": ["2022-05-01", "2022-07-01"]}
    cube = con.load_collection("SENTINEL2_L2A", bands=["B04", "B08", "SCL"], **extent)
    scl = cube.band("SCL")
    cloudy = (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10)
    ndvi = (cube.band("B08") - cube.band("B04")) / (cube.band("B08") + cube.band("B04"))
    ndvi.mask(cloudy).reduce_dimension("t", reducer="median").download(
        tmp_path / "median.nc", format="netCDF"
    )
    cube.download(tmp_path / "raw.nc", format="netCDF")
    with xr.open_dataset(tmp_path / "raw.nc") as raw, xr.open_dataset(tmp_path / "median.nc") as ds:
        red, nir, classes = (raw[b].values for b in ("B04", "B08", "SCL"))
        got = next(v for v in ds.data_vars.values() if v.ndim == 2).values
    assert red.shape[0] >= 10  # dates
    with np.errstate(all="ignore"):
        by_hand = (nir - red) / (nir + red)
    by_hand[np.isin(classes, [3, 8, 9, 10])] = np.nan
    masked_share = float(np.isin(classes, [3, 8, 9, 10]).mean())
    assert 0.01 < masked_share < 0.9  # the mask matters in this test
    with np.errstate(all="ignore"):
        expected = np.nanmedian(by_hand, axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)
    assert np.isfinite(got).mean() > 0.5

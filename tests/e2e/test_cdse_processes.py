"""CDSE's extra processes driven by the official openeo client against a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pyproj
import pytest
import rasterio
import xarray as xr

from eostation.engine.processes.cubes.scl_mask import dilation_mask

pytestmark = pytest.mark.e2e
AOI = {"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21}
DATES = ["2022-06-01", "2022-06-30"]


def _only_variable(path: Path) -> xr.DataArray:
    with xr.open_dataset(path) as ds:
        names = [n for n, v in ds.data_vars.items() if v.ndim >= 2]
        assert len(names) == 1, names
        return ds[names[0]].load()


def test_scl_dilation_mask_matches_the_algorithm_on_the_downloaded_scl(
    live_server: str, tmp_path: Path
) -> None:
    con = openeo.connect(live_server)
    scl = con.load_collection(
        "SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=DATES, bands=["SCL"]
    )
    mask = scl.process(
        "to_scl_dilation_mask",
        data=scl,
        erosion_kernel_size=3,
        mask1_values=[2, 4, 5, 6, 7],
        mask2_values=[3, 8, 9, 10, 11],
        kernel1_size=5,
        kernel2_size=9,
    )
    scl.download(tmp_path / "scl.nc", format="netCDF")
    mask.download(tmp_path / "mask.nc", format="netCDF")
    classes = _only_variable(tmp_path / "scl.nc")
    got = _only_variable(tmp_path / "mask.nc")
    assert got.sizes["t"] == classes.sizes["t"] >= 2
    for i in range(classes.sizes["t"]):
        expected = dilation_mask(
            classes.isel(t=i).transpose("y", "x").values.astype(float),
            erosion_kernel_size=3, kernel1_size=5, kernel2_size=9,
        )  # fmt: skip
        np.testing.assert_array_equal(got.isel(t=i).transpose("y", "x").values, expected)
    assert 0 < float(got.mean()) < 1  # the demo world has clouds on some dates, not all


def _points(x: np.ndarray, y: np.ndarray, crs: str, labels: list[int]) -> dict[str, Any]:
    to_lonlat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(x, y)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lo, la]},
             "properties": {"target": int(t)}}
            for lo, la, t in zip(lon, lat, labels, strict=True)
        ],
    }  # fmt: skip


def test_fit_and_predict_random_forest_through_the_client(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    nir = con.load_collection(
        "SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=DATES, bands=["B08"]
    ).reduce_dimension("t", reducer="median")
    nir.download(tmp_path / "nir.tif", format="GTiff")
    with rasterio.open(tmp_path / "nir.tif") as ds:
        values, transform, crs = ds.read(1), ds.transform, ds.crs.to_string()
    # Eight training pixels; class 1 where B08 is above the median of the eight.
    rows, cols = np.unravel_index(np.linspace(0, values.size - 1, 8).astype(int), values.shape)
    samples = values[rows, cols]
    labels = [int(v > np.median(samples)) for v in samples]
    assert len(set(samples.tolist())) == 8 and sum(labels) == 4
    x, y = rasterio.transform.xy(transform, rows, cols)
    training = _points(np.asarray(x), np.asarray(y), crs, labels)
    predictors = nir.aggregate_spatial(geometries=training, reducer="mean")
    model = predictors.fit_class_random_forest(
        target=training, max_variables="all", num_trees=50, seed=7
    )
    nir.predict_random_forest(model, dimension="bands").download(tmp_path / "c.tif", format="GTiff")
    with rasterio.open(tmp_path / "c.tif") as ds:
        classes = ds.read(1)
    assert classes.shape == values.shape
    # The training pixels get their own labels, and each tree splits between the two
    # classes' values, so values beyond all training values get the outer classes.
    np.testing.assert_array_equal(classes[rows, cols], labels)
    low, high = samples.min(), samples.max()
    assert (classes[values <= low] == 0).all() and (classes[values >= high] == 1).all()
    assert set(np.unique(classes).tolist()) == {0.0, 1.0}

    # Saved by a batch job, loaded back by its asset URL and by job id: same classes.
    job = model.save_ml_model().create_job(title="forest")
    job.start_and_wait(max_poll_interval=0.5)
    assets = job.get_results().get_assets()
    [asset] = [a for a in assets if "ml-model:checkpoint" in a.metadata.get("roles", [])]
    assert asset.href.split("?")[0].endswith("/model.skops")
    nir.predict_random_forest(asset.href).download(tmp_path / "again.tif", format="GTiff")
    with rasterio.open(tmp_path / "again.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), classes)
    nir.predict_random_forest(job.job_id).download(tmp_path / "by_id.tif", format="GTiff")
    with rasterio.open(tmp_path / "by_id.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), classes)


def test_bad_arguments_come_back_as_openeo_errors(live_server: str) -> None:
    from openeo.rest import OpenEoApiError

    con = openeo.connect(live_server)
    bands = con.load_collection(
        "SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=DATES, bands=["B04", "B08"]
    )
    with pytest.raises(OpenEoApiError) as err:
        bands.process("to_scl_dilation_mask", data=bands).download(format="netCDF")
    assert err.value.http_status_code == 400 and err.value.code == "ProcessParameterInvalid"
    assert "no band 'SCL'" in err.value.message
    with pytest.raises(OpenEoApiError) as err:
        bands.predict_random_forest("j-does-not-exist").download(format="GTiff")
    assert err.value.http_status_code == 404 and err.value.code == "JobNotFound"

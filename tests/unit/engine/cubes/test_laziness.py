"""Cube processes build dask graphs; nothing is computed until a writer asks."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.cube import MAX_CHUNK_BYTES, keep_all_dates_together
from eostation.engine.limits import EngineLimits

from .test_core_processes import AOI, FORMATS, REGISTRY, Recorder, callback, node, ref, run

LIMITS = EngineLimits()


def forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a cube process computed data")


def test_a_long_graph_computes_nothing() -> None:
    geometry = {"type": "Polygon", "coordinates": [[
        [11.002, 46.002], [11.015, 46.002], [11.015, 46.012], [11.002, 46.002]]]}  # fmt: skip
    nodes = {
        "l": node("load_collection", id="SENTINEL2_L2A", spatial_extent=geometry,
                  temporal_extent=["2022-05-01", "2022-07-01"], bands=["B04", "B08", "SCL"]),
        "scl": node("filter_bands", data=ref("l"), bands=["SCL"]),
        "cloud": node("apply", data=ref("scl"),
                      process=callback("eq", x={"from_parameter": "x"}, y=9)),
        "cloud2": node("drop_dimension", data=ref("cloud"), name="bands"),
        "v": node("filter_bands", data=ref("l"), bands=["red", "nir"]),
        "m": node("mask", data=ref("v"), mask=ref("cloud2")),
        "n": node("ndvi", data=ref("m"), target_band="NDVI"),
        "r": node("reduce_dimension", data=ref("n"), dimension="t",
                  reducer=callback("median", data={"from_parameter": "data"})),
        "s": node("resample_spatial", data=ref("r"), resolution=20, method="average"),
        "o": node("save_result", True, data=ref("s"), format="netCDF"),
    }  # fmt: skip
    env = EvalContext(
        REGISTRY, LIMITS, load_collection=Recorder(), output_format=FORMATS.check_output
    )
    with dask.config.set(scheduler=forbidden):
        assert run(env, nodes) is True
    [(cube, fmt, _)] = env.results
    assert fmt == "netCDF" and cube.chunks is not None
    assert list(cube["bands"].values) == ["B04", "B08", "NDVI"]
    values = cube.sel(bands="NDVI").values
    assert np.isfinite(values).any() and np.nanmax(values) <= 1
    assert np.isnan(values[-1, -1])  # outside the triangle


def test_reductions_over_time_keep_a_tiles_dates_together() -> None:
    data = da.zeros((300, 2, 1024, 1024), chunks=(10, 1, 512, 512), dtype=np.float32)
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"))
    out = keep_all_dates_together(cube)
    assert len(out.chunks[0]) == 1
    biggest = 300 * max(out.chunks[2]) * max(out.chunks[3]) * 4
    assert biggest <= MAX_CHUNK_BYTES
    small = xr.DataArray(da.zeros((20, 64, 64), chunks=(5, 32, 32)), dims=("t", "y", "x"))
    assert keep_all_dates_together(small).chunks == ((20,), (32, 32), (32, 32))


@pytest.mark.parametrize("aoi", [AOI])
def test_load_request_for_geojson_carries_the_geometry(aoi: dict[str, float]) -> None:
    recorder = Recorder()
    square = {"type": "Polygon", "coordinates": [[
        [aoi["west"], aoi["south"]], [aoi["east"], aoi["south"]], [aoi["east"], aoi["north"]],
        [aoi["west"], aoi["north"]], [aoi["west"], aoi["south"]]]]}  # fmt: skip
    env = EvalContext(REGISTRY, LIMITS, load_collection=recorder)
    run(env, {"l": node("load_collection", True, id="SENTINEL2_L2A", spatial_extent=square,
                        temporal_extent=["2022-05-01", "2022-05-10"], bands=["B02"])})  # fmt: skip
    [request] = recorder.requests
    assert request.geometry == square
    assert request.bbox == pytest.approx((aoi["west"], aoi["south"], aoi["east"], aoi["north"]))


def test_a_band_picked_in_reduce_dimension_is_not_copied_out_of_a_merged_chunk() -> None:
    values = np.arange(4 * 3 * 8 * 8, dtype=np.float32).reshape(4, 3, 8, 8)
    data = da.from_array(values, chunks=(4, 1, 4, 4))
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={"bands": ["a", "b", "c"]})
    pick = REGISTRY.get("array_element").function
    reduce = REGISTRY.get("reduce_dimension").function
    out = reduce(data=cube, dimension="bands", reducer=lambda data, context: pick(data, label="c"))
    assert out.chunks == ((4,), (4, 4), (4, 4))  # the source's chunks
    assert not any("rechunk" in name for name in out.data.__dask_graph__().layers)
    np.testing.assert_array_equal(out.values, values[:, 2])

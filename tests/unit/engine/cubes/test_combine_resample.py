"""mask, merge_cubes, resampling, dimension handling and filter_spatial with real values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.xr import assign_crs

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.errors import (
    DimensionExists,
    DimensionLabelCountMismatch,
    LabelExists,
    OverlapResolverMissing,
)

from .test_core_processes import REGISTRY, callback, node

LIMITS = EngineLimits()

ENV = EvalContext(REGISTRY, LIMITS)


def run(nodes: dict[str, Any], **cubes: xr.DataArray) -> Any:
    """Evaluate ``nodes`` with cubes passed as graph parameters."""
    graph = {"process_graph": nodes, "parameters": [{"name": n} for n in cubes]}
    return evaluate(graph, ENV, cubes)


def param(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def small_cube() -> xr.DataArray:
    """(t, bands, y, x) floats with a few NaN, on a 10 m EPSG:32633 grid, dask-backed."""
    rng = np.random.default_rng(7)
    values = rng.uniform(0, 1, (3, 2, 6, 8))
    values[0, 0, 0, 0] = np.nan
    cube = xr.DataArray(
        values,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": pd.to_datetime(["2022-01-01", "2022-01-11", "2022-01-21"]).to_numpy(),
            "bands": ["B04", "B08"],
            "y": 5080255.0 - 5 - 10 * np.arange(6),
            "x": 465181.0 + 5 + 10 * np.arange(8),
        },
    )
    return assign_crs(cube, "EPSG:32633").chunk({"y": 3, "x": 4})


def test_mask_replaces_where_set_and_where_null() -> None:
    cube = small_cube()
    flags = xr.zeros_like(cube.isel(t=0, bands=0, drop=True))
    flags[1, 2] = 1
    flags[3, 4] = np.nan
    out = run({"m": node("mask", True, data=param("d"), mask=param("m"))}, d=cube, m=flags)
    assert out.dims == cube.dims and out.chunks is not None
    got, want = out.values, cube.values.copy()
    want[:, :, 1, 2] = np.nan
    want[:, :, 3, 4] = np.nan
    np.testing.assert_array_equal(got, want)
    out = run(
        {"m": node("mask", True, data=param("d"), mask=param("m"), replacement=-1)},
        d=cube,
        m=flags > 0,
    )
    assert (out.values[:, :, 1, 2] == -1).all() and not np.isnan(out.values[:, :, 3, 4]).any()


def test_mask_from_another_grid_is_resampled() -> None:
    cube = small_cube()
    coarse = xr.DataArray(
        np.array([[1.0, 0.0], [0.0, 0.0]]),
        dims=("y", "x"),
        coords={"y": [5080255.0 - 15, 5080255.0 - 45], "x": [465181.0 + 20, 465181.0 + 60]},
    )
    out = run({"m": node("mask", True, data=param("d"), mask=param("m"))},
              d=cube, m=assign_crs(coarse, "EPSG:32633"))  # fmt: skip
    masked = np.isnan(out.values[1, 1])
    assert masked[:3, :4].all() and not masked[3:, :].any() and not masked[:, 4:].any()


def test_merge_bands_and_overlap_resolver() -> None:
    cube = small_cube()
    red, nir = cube.sel(bands=["B04"]), cube.sel(bands=["B08"])
    out = run({"m": node("merge_cubes", True, cube1=param("a"), cube2=param("b"))}, a=red, b=nir)
    xr.testing.assert_equal(out.compute(), cube.compute())
    early, late = cube.isel(t=[0, 1]), cube.isel(t=[1, 2]) * 10
    with pytest.raises(OverlapResolverMissing):
        run({"m": node("merge_cubes", True, cube1=param("a"), cube2=param("b"))}, a=early, b=late)
    resolver = callback("sum", data=[param("x"), param("y")])
    out = run({"m": node("merge_cubes", True, cube1=param("a"), cube2=param("b"),
                         overlap_resolver=resolver)}, a=early, b=late)  # fmt: skip
    assert out.sizes["t"] == 3 and out.chunks is not None
    np.testing.assert_allclose(out.isel(t=0).values, cube.isel(t=0).values, equal_nan=True)
    np.testing.assert_allclose(out.isel(t=1).values, 11 * cube.isel(t=1).values)
    np.testing.assert_allclose(out.isel(t=2).values, 10 * cube.isel(t=2).values)


def test_merge_lower_dimensional_cube_needs_resolver() -> None:
    cube = small_cube()
    dem = cube.isel(t=0, bands=0, drop=True).fillna(0)
    resolver = callback("add", x=param("x"), y=param("y"))
    out = run({"m": node("merge_cubes", True, cube1=param("a"), cube2=param("b"),
                         overlap_resolver=resolver)}, a=cube, b=dem)  # fmt: skip
    assert out.dims == cube.dims
    np.testing.assert_allclose(out.values, (cube + dem).values, equal_nan=True)


def test_resample_spatial_average_equals_block_mean() -> None:
    cube = small_cube().fillna(0.5)
    out = run({"r": node("resample_spatial", True, data=param("d"), resolution=20,
                         method="average")}, d=cube)  # fmt: skip
    assert out.sizes["y"] == 3 and out.sizes["x"] == 4 and out.odc.crs.epsg == 32633
    blocks = cube.coarsen(y=2, x=2).mean()
    np.testing.assert_allclose(out.values, blocks.values, rtol=1e-6)
    assert out.odc.geobox.affine.c == 465181.0 and out.odc.geobox.affine.f == 5080255.0


@pytest.mark.parametrize("method", ["average", "max"])
def test_resample_spatial_edge_pixels_aggregate_the_data_they_cover(method: str) -> None:
    # 8 × 6 px of 10 m onto 30 m, aligned upper-left: the last column and row of the new
    # grid cover 2 × 3 and 3 × 2 source pixels and the corner 2 × 2 (GDAL left them null).
    cube = small_cube().fillna(0.5)
    out = run({"r": node("resample_spatial", True, data=param("d"), resolution=30,
                         method=method, align="upper-left")}, d=cube)  # fmt: skip
    assert out.sizes["y"] == 2 and out.sizes["x"] == 3
    blocks = getattr(
        cube.coarsen(y=3, x=3, boundary="pad"), "mean" if method == "average" else "max"
    )()
    np.testing.assert_allclose(out.values, blocks.values, rtol=1e-6)
    assert np.isfinite(out.values).all()


def test_resample_spatial_reprojects_and_cube_spatial_follows() -> None:
    cube = small_cube()
    out = run({"r": node("resample_spatial", True, data=param("d"), projection=4326)}, d=cube)
    assert out.odc.crs.epsg == 4326 and out.sizes["t"] == 3 and out.chunks is not None
    back = run({"r": node("resample_cube_spatial", True, data=param("d"), target=param("t"))},
               d=out, t=cube)  # fmt: skip
    assert back.odc.geobox == cube.odc.geobox


def test_resample_cube_temporal_nearest_and_valid_within() -> None:
    cube = small_cube()
    target = cube.assign_coords(
        t=pd.to_datetime(["2022-01-05", "2022-01-16", "2022-02-15"]).to_numpy()
    )
    out = run({"r": node("resample_cube_temporal", True, data=param("d"), target=param("t"))},
              d=cube, t=target)  # fmt: skip
    assert list(out["t"].values) == list(target["t"].values)
    np.testing.assert_array_equal(out.values[1], cube.values[1])  # tie 01-11/01-21 → earlier
    np.testing.assert_array_equal(out.values[2], cube.values[2])
    out = run({"r": node("resample_cube_temporal", True, data=param("d"), target=param("t"),
                         valid_within=5)}, d=cube, t=target)  # fmt: skip
    assert np.isnan(out.values[2]).all()
    assert np.isnan(out.values[0, 0, 0, 0])  # nearest within 5 days is null, none else


def test_dimension_processes_keep_types_and_labels() -> None:
    cube = small_cube()
    out = run({"a": node("add_dimension", True, data=param("d"), name="run", label="v1")}, d=cube)
    assert out.dims[0] == "run" and out.sizes["run"] == 1
    with pytest.raises(DimensionExists):
        run({"a": node("add_dimension", True, data=param("d"), name="t", label="x")}, d=cube)
    with pytest.raises(DimensionLabelCountMismatch):
        run({"a": node("drop_dimension", True, data=param("d"), name="t")}, d=cube)
    renamed = run({"r": node("rename_dimension", True, data=param("d"), source="bands",
                             target="spectral")}, d=cube)  # fmt: skip
    ndvi = run({"n": node("ndvi", True, data=param("d"), nir="B08", red="B04")}, d=renamed)
    assert ndvi.dims == ("t", "y", "x")
    relabeled = run({"r": node("rename_labels", True, data=param("d"), dimension="bands",
                               source=["B04"], target=["red"])}, d=cube)  # fmt: skip
    assert list(relabeled["bands"].values) == ["red", "B08"]
    with pytest.raises(LabelExists):
        run({"r": node("rename_labels", True, data=param("d"), dimension="bands",
                       source=["B04"], target=["B08"])}, d=cube)  # fmt: skip
    labels = run({"l": node("dimension_labels", True, data=param("d"), dimension="t")}, d=cube)
    assert labels == ["2022-01-01T00:00:00Z", "2022-01-11T00:00:00Z", "2022-01-21T00:00:00Z"]


def test_trim_cube_and_apply_dimension() -> None:
    cube = small_cube()
    padded = cube.where(cube.x < cube.x.values[6])
    out = run({"t": node("trim_cube", True, data=param("d"))}, d=padded)
    assert out.sizes["x"] == 6 and out.sizes["t"] == 3
    cumulative = run({"a": node("apply_dimension", True, data=param("d"), dimension="t",
                                process=callback("cumsum", data=param("data")))}, d=cube)  # fmt: skip
    assert list(cumulative["t"].values) == list(cube["t"].values)
    np.testing.assert_allclose(cumulative.values[2, 1], cube.values[:, 1].sum(axis=0), rtol=1e-12)


def test_filter_spatial_masks_outside_the_polygon() -> None:
    cube = small_cube()
    west, north = 465181.0, 5080255.0
    triangle = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon",
            "coordinates": [[[west, north], [west + 40, north], [west, north - 40], [west, north]]],
        }}],
        "crs": {"type": "name", "properties": {"name": "EPSG:32633"}},
    }  # fmt: skip
    from eostation.engine.processes.cubes.geometries import geometry_set

    geoms = geometry_set(triangle, "t", "g").to_crs(4326)
    out = run({"f": node("filter_spatial", True, data=param("d"), geometries=param("g"))},
              d=cube, g={"type": "Polygon", "coordinates": [list(geoms.geometries[0].exterior.coords)]})  # fmt: skip
    assert out.sizes["x"] == 4 and out.sizes["y"] == 4
    inside = ~np.isnan(out.values[1, 1])
    assert inside[0, 0] and inside[0, 2] and not inside[3, 3] and not inside[2, 2]


def test_resample_cube_spatial_small_onto_large_grid_nearest_values_and_few_tasks() -> None:
    """A 9 × 12 px cube onto a 251 × 329 px grid (the EFAST case): every output pixel takes
    the source pixel under its centre, and the warp is one task per band and date (it was
    one per source-chunk-sized output tile: 728 GDAL calls per band and date)."""
    rng = np.random.default_rng(3)
    coarse = xr.DataArray(
        rng.uniform(0, 1, (2, 1, 9, 12)).astype(np.float32),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": pd.to_datetime(["2022-01-01", "2022-01-11"]).to_numpy(),
            "bands": ["LST"],
            "y": 5_080_000.0 - 150 - 300 * np.arange(9),
            "x": 465_000.0 + 150 + 300 * np.arange(12),
        },
    )
    coarse = assign_crs(coarse, "EPSG:32633").chunk({"t": 1, "y": 9, "x": 12})
    fine = xr.DataArray(
        np.zeros((251, 329), np.float32),
        dims=("y", "x"),
        coords={
            "y": 5_080_000.0 - 5 - 10 * np.arange(251),
            "x": 465_000.0 + 5 + 10 * np.arange(329),
        },
    )
    fine = assign_crs(fine, "EPSG:32633")
    out = run({"r": node("resample_cube_spatial", True, data=param("d"), target=param("t"))},
              d=coarse, t=fine)  # fmt: skip
    assert out.odc.geobox == fine.odc.geobox and out.sizes["t"] == 2
    assert out.data.npartitions == 2  # one output block per band and date
    rows = (np.arange(251) * 10 + 5) // 300
    cols = (np.arange(329) * 10 + 5) // 300
    expected = coarse.values[:, :, rows][:, :, :, cols]
    np.testing.assert_array_equal(out.values, expected)

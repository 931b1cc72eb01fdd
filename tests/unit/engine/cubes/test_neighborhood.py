"""apply_kernel against scipy.ndimage, apply_neighborhood, aggregate_spatial_window, polygon masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.ndimage
import shapely
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError
from tests.graphs import reduce_mean

LIMITS = EngineLimits()

REGISTRY = default_registry()
KERNEL = [[1, 2, 0], [0, 4, -1], [3, 0, 1], [1, 1, 1], [0, 5, 2]]


def _cube(chunks: dict[str, int] | None = None) -> xr.DataArray:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(2, 9, 11))
    values[1, 4, 4] = np.nan
    cube = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={
            "t": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"),
            "y": 1000.0 - 10 * np.arange(9) - 5,
            "x": 10 * np.arange(11) + 5.0,
        },
        attrs={"crs": "EPSG:32633"},
    )
    return cube.chunk(chunks) if chunks else cube


def _run(
    process_id: str, cube: xr.DataArray, scope: dict[str, Any] | None = None, **arguments: Any
) -> Any:
    graph = {
        "process_graph": {
            "n": {
                "process_id": process_id,
                "arguments": {"data": {"from_parameter": "cube"}, **arguments},
                "result": True,
            }
        }
    }
    return evaluate(graph, EvalContext(REGISTRY, LIMITS), {"cube": cube, **(scope or {})})


@pytest.mark.parametrize(
    ("border", "mode", "cval"),
    [(0, "constant", 0.0), (2.5, "constant", 2.5), ("replicate", "nearest", 0.0),
     ("reflect", "reflect", 0.0), ("reflect_pixel", "mirror", 0.0), ("wrap", "wrap", 0.0)],
)  # fmt: skip
@pytest.mark.parametrize("chunks", [None, {"y": 4, "x": 3}])
def test_apply_kernel_equals_scipy(border: Any, mode: str, cval: float, chunks: Any) -> None:
    cube = _cube(chunks)
    out = _run("apply_kernel", cube, kernel=KERNEL, factor=0.5, border=border, replace_invalid=-1)
    values = np.nan_to_num(_cube().values, nan=-1.0)
    for t in range(2):
        expected = 0.5 * scipy.ndimage.correlate(
            values[t], np.asarray(KERNEL, float), mode=mode, cval=cval
        )
        np.testing.assert_allclose(out.values[t], expected, rtol=1e-12, atol=1e-12)
    assert out.dims == cube.dims and out.attrs["crs"] == "EPSG:32633"


def test_apply_kernel_even_kernel() -> None:
    with pytest.raises(OpenEOError) as info:
        _run("apply_kernel", _cube(), kernel=[[1, 2], [3, 4]])
    assert info.value.params.get("exception") == "KernelDimensionsUneven"


def test_apply_neighborhood_tiles_with_overlap_match_a_global_filter() -> None:
    cube = _cube({"y": 5})
    # The process: a 3x3 kernel; with 1 px overlap the stitched result equals a global filter.
    process = {
        "process_graph": {
            "k": {
                "process_id": "apply_kernel",
                "arguments": {
                    "data": {"from_parameter": "data"},
                    "kernel": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
                },
                "result": True,
            }
        }
    }
    out = _run(
        "apply_neighborhood",
        cube,
        process=process,
        size=[
            {"dimension": "x", "value": 4, "unit": "px"},
            {"dimension": "y", "value": 30, "unit": "m"},
            {"dimension": "t", "value": None},
        ],
        overlap=[
            {"dimension": "x", "value": 1, "unit": "px"},
            {"dimension": "y", "value": 10, "unit": "m"},
        ],
    )
    expected = _run("apply_kernel", cube, kernel=[[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_allclose(out.values, expected.values)
    assert out.x.values.tolist() == cube.x.values.tolist()


def test_apply_neighborhood_rejects_a_shape_change() -> None:
    process = {"process_graph": {"r": {**reduce_mean({"from_parameter": "data"}), "result": True}}}
    with pytest.raises(OpenEOError):
        _run(
            "apply_neighborhood",
            _cube(),
            process=process,
            size=[{"dimension": "x", "value": 4, "unit": "px"}],
        )


@pytest.mark.parametrize(
    ("boundary", "align", "shape", "x0", "y0"),
    [("pad", "upper-left", (5, 4), 15.0, 990.0), ("trim", "upper-left", (4, 3), 15.0, 990.0),
     ("trim", "lower-right", (4, 3), 35.0, 980.0), ("pad", "lower-right", (5, 4), 5.0, 1000.0)],
)  # fmt: skip
def test_aggregate_spatial_window(
    boundary: str, align: str, shape: tuple[int, int], x0: float, y0: float
) -> None:
    cube = _cube()
    reducer = {
        "process_graph": {
            "m": {
                "process_id": "max",
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }
    out = _run(
        "aggregate_spatial_window",
        cube,
        reducer=reducer,
        size=[3, 2],
        boundary=boundary,
        align=align,
    )
    assert out.sizes["y"] == shape[0] and out.sizes["x"] == shape[1]
    assert out.x.values[0] == x0 and out.y.values[0] == y0
    if align == "upper-left":
        np.testing.assert_allclose(out.values[0, 0, 0], np.nanmax(cube.values[0, 0:2, 0:3]))
        np.testing.assert_allclose(out.values[1, 1, 2], np.nanmax(cube.values[1, 2:4, 6:9]))


SQUARE = shapely.box(20, 950, 60, 990)  # centres x 25..55, y 985..955: 4x4 pixels


@pytest.mark.parametrize("inside", [False, True])
def test_mask_polygon_centre_rule(inside: bool) -> None:
    import pyproj

    from eostation.engine.processes.cubes.geometries import GeometrySet, object_array, vector_cube

    mask = vector_cube(GeometrySet(object_array([SQUARE]), pyproj.CRS.from_epsg(32633), [{}]))
    cube = _cube({"x": 4})
    ref = {"from_parameter": "mask"}
    out = _run("mask_polygon", cube, {"mask": mask}, mask=ref, inside=inside, replacement=99)
    gx, gy = np.meshgrid(cube.x.values, cube.y.values)
    hit = shapely.intersects_xy(SQUARE, gx, gy)
    assert hit.sum() == 16
    replaced = hit if inside else ~hit
    values = cube.values
    expected = np.where(replaced & ~np.isnan(values), 99.0, values)
    np.testing.assert_array_equal(out.values, expected)
    nulls = _run("mask_polygon", cube, {"mask": mask}, mask=ref, inside=inside)
    assert (
        np.isnan(nulls.values[:, replaced]).all() and not np.isnan(nulls.values[0, ~replaced]).any()
    )


def test_apply_polygon_runs_per_polygon() -> None:
    import pyproj

    from eostation.engine.processes.cubes.geometries import GeometrySet, object_array, vector_cube

    second = shapely.box(70, 900, 100, 930)
    geoms = vector_cube(
        GeometrySet(object_array([SQUARE, second]), pyproj.CRS.from_epsg(32633), [{}, {}])
    )
    process = {
        "process_graph": {
            "a": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "data"}, "y": 10},
                "result": True,
            }
        }
    }
    cube = _cube()
    ref = {"from_parameter": "geoms"}
    out = _run("apply_polygon", cube, {"geoms": geoms}, geometries=ref, process=process)
    gx, gy = np.meshgrid(cube.x.values, cube.y.values)
    inside = shapely.intersects_xy(SQUARE, gx, gy) | shapely.intersects_xy(second, gx, gy)
    np.testing.assert_allclose(out.values[:, inside], 10 * cube.values[:, inside])
    assert np.isnan(out.values[:, ~inside]).all()
    overlapping = vector_cube(
        GeometrySet(object_array([SQUARE, SQUARE]), pyproj.CRS.from_epsg(32633), [{}, {}])
    )
    with pytest.raises(OpenEOError) as info:
        _run("apply_polygon", cube, {"geoms": overlapping}, geometries=ref, process=process)
    assert info.value.params.get("exception") == "GeometriesOverlap"

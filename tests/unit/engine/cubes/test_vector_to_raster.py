"""vector_to_raster: values of geometries burnt into a target grid, checked pixel by pixel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.geometries import GeometrySet, object_array, vector_cube
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()
NAN = np.nan


def _target() -> xr.DataArray:
    # 4 x 5 pixels of 10 m in UTM 31N: x from 500000 to 500050, y from 5000040 down to 5000000.
    box = GeoBox.from_bbox((500000, 5000000, 500050, 5000040), "EPSG:32631", resolution=10)
    coords = {"bands": ["B04"], **xr_coords(box)}
    return xr.DataArray(np.zeros((1, 4, 5)), dims=("bands", "y", "x"), coords=coords)


def _vector(values: Any, dims: tuple[str, ...], coords: dict[str, Any]) -> xr.DataArray:
    geoms = object_array(
        [
            shapely.box(500000, 5000020, 500020, 5000040),  # top-left 2 x 2 pixels
            shapely.box(500010, 5000000, 500030, 5000030),  # 2 columns x 3 rows, overlapping
            shapely.Point(500045, 5000005),  # the bottom-right pixel
        ]
    )
    import pyproj

    return vector_cube(
        GeometrySet(geoms, pyproj.CRS.from_epsg(32631), [{}, {}, {}]), values, dims, coords
    )


def _run(data: Any, target: Any) -> Any:
    graph = {
        "process_graph": {
            "r": {
                "process_id": "vector_to_raster",
                "arguments": {"data": {"from_parameter": "v"}, "target": {"from_parameter": "t"}},
                "result": True,
            }
        }
    }
    return evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"v": data, "t": target})


def test_burns_bands_with_later_geometries_on_top() -> None:
    vec = _vector(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]), ("geometries", "bands"),
                  {"bands": ["a", "b"]})  # fmt: skip
    out = _run(vec, _target())
    assert out.dims == ("bands", "y", "x")
    assert list(out["bands"].values) == ["a", "b"]
    expected_a = np.array(
        [
            [1, 1, NAN, NAN, NAN],
            [1, 2, 2, NAN, NAN],
            [NAN, 2, 2, NAN, NAN],
            [NAN, 2, 2, NAN, 3],
        ]
    )
    np.testing.assert_array_equal(out.sel(bands="a").values, expected_a)
    np.testing.assert_array_equal(out.sel(bands="b").values, expected_a * 10)
    np.testing.assert_array_equal(out["x"].values, _target()["x"].values)


def test_keeps_the_time_dimension() -> None:
    values = np.arange(6, dtype=float).reshape(3, 2)  # geometries x t
    times = np.array(["2022-06-01", "2022-06-11"], dtype="datetime64[ns]")
    out = _run(_vector(values, ("geometries", "t"), {"t": times}), _target())
    assert out.dims == ("t", "y", "x")
    assert out.values[1, 0, 0] == 1.0 and out.values[0, 3, 4] == 4.0 and out.values[1, 3, 4] == 5.0
    assert np.isnan(out.values[0, 0, 4])


def test_geometries_in_another_crs_are_reprojected() -> None:
    import pyproj

    box = shapely.box(500000, 5000020, 500020, 5000040)
    to_wgs = pyproj.Transformer.from_crs(32631, 4326, always_xy=True)
    lonlat = shapely.transform(
        box, lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1]))
    )
    vec = vector_cube(GeometrySet(object_array([lonlat])), np.array([7.0]))
    out = _run(vec, _target())
    assert out.dims == ("y", "x")
    assert np.nansum(out.values) == 7.0 * 4  # the same 2 x 2 pixels


@pytest.mark.parametrize(
    ("data", "target", "needle"),
    [
        ({"type": "Point", "coordinates": [0, 0]}, "grid", "vector cube"),
        ("vector", 5, "target"),
    ],
)
def test_bad_input_is_a_clear_error(data: Any, target: Any, needle: str) -> None:
    if data == "vector":
        data = _vector(np.array([1.0, 2.0, 3.0]), ("geometries",), {})
    if target == "grid":
        target = _target()
    with pytest.raises(OpenEOError) as err:
        _run(data, target)
    assert err.value.status == 400 and needle in err.value.message


def test_text_values_are_refused() -> None:
    vec = _vector(np.array(["a", "b", "c"], dtype=object), ("geometries",), {})
    with pytest.raises(OpenEOError, match="numbers"):
        _run(vec, _target())

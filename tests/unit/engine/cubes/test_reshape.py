"""flatten_dimensions and unflatten_dimension: the spec's example and round trips."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.cube import dimension_type
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

LIMITS = EngineLimits()

REGISTRY = default_registry()


def _call(process_id: str, cube: xr.DataArray, **arguments: Any) -> xr.DataArray:
    node = {"process_id": process_id, "arguments": {"data": {"from_parameter": "c"}, **arguments}}
    out = evaluate(
        {"process_graph": {"n": {**node, "result": True}}},
        EvalContext(REGISTRY, LIMITS),
        {"c": cube},
    )
    assert isinstance(out, xr.DataArray)
    return out


def _spec_example() -> xr.DataArray:
    return xr.DataArray(
        [[1, 2], [3, 4]], dims=("A", "B"), coords={"A": [2020, 2021], "B": ["B1", "B2"]}
    )


def test_flatten_as_in_the_spec_example() -> None:
    out = _call("flatten_dimensions", _spec_example(), dimensions=["A", "B"], target_dimension="X")
    assert out.dims == ("X",)
    assert list(out.X.values) == ["2020~B1", "2020~B2", "2021~B1", "2021~B2"]
    assert out.values.tolist() == [1, 2, 3, 4]
    assert dimension_type(out, "X") == "other"


def test_unflatten_as_in_the_spec_example() -> None:
    flat = xr.DataArray(
        [1, 2, 3, 4], dims=("X",), coords={"X": ["2020~B1", "2020~B2", "2021~B1", "2021~B2"]}
    )
    out = _call("unflatten_dimension", flat, dimension="X", target_dimensions=["A", "B"])
    assert out.dims == ("A", "B")
    assert list(out.A.values) == ["2020", "2021"] and list(out.B.values) == ["B1", "B2"]
    assert out.values.tolist() == [[1, 2], [3, 4]]
    assert dimension_type(out, "A") == dimension_type(out, "B") == "other"


def test_flatten_bands_and_time_of_a_lazy_cube_and_back() -> None:
    dates = np.array(["2020-01-01", "2020-02-01"], dtype="datetime64[ns]")
    cube = xr.DataArray(
        np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2),
        dims=("t", "bands", "y", "x"),
        coords={"t": dates, "bands": ["B02", "B03", "B04"], "y": [1.0, 0.0], "x": [0.0, 1.0]},
    ).chunk({"t": 1})
    flat = _call(
        "flatten_dimensions",
        cube,
        dimensions=["bands", "t"],
        target_dimension="features",
        label_separator="|",
    )
    assert flat.chunks is not None, "stays lazy"
    assert flat.dims == ("features", "y", "x")
    assert flat.features.values[1] == "B02|2020-02-01T00:00:00Z"
    np.testing.assert_array_equal(flat.isel(features=1).values, cube.isel(t=1, bands=0).values)
    back = _call(
        "unflatten_dimension",
        flat,
        dimension="features",
        target_dimensions=["bands", "t"],
        label_separator="|",
    )
    assert back.dims == ("bands", "t", "y", "x")
    np.testing.assert_array_equal(back.values, cube.transpose("bands", "t", "y", "x").values)
    assert list(back.t.values) == ["2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"]


def test_unflatten_fills_missing_combinations_with_nodata() -> None:
    flat = xr.DataArray([1.0, 2.0, 3.0], dims=("X",), coords={"X": ["a~1", "a~2", "b~1"]})
    out = _call("unflatten_dimension", flat, dimension="X", target_dimensions=["L", "N"])
    np.testing.assert_array_equal(out.values, [[1.0, 2.0], [3.0, np.nan]])


@pytest.mark.parametrize(
    ("process_id", "arguments", "code"),
    [
        ("flatten_dimensions", {"dimensions": ["A", "C"], "target_dimension": "X"}, "DimensionNotAvailable"),
        ("flatten_dimensions", {"dimensions": ["A"], "target_dimension": "B"}, "TargetDimensionExists"),
        ("unflatten_dimension", {"dimension": "C", "target_dimensions": ["P", "Q"]}, "DimensionNotAvailable"),
        ("unflatten_dimension", {"dimension": "A", "target_dimensions": ["B", "Q"]}, "TargetDimensionExists"),
        ("unflatten_dimension", {"dimension": "B", "target_dimensions": ["P", "Q"]}, "ProcessParameterInvalid"),
    ],
)  # fmt: skip
def test_errors(process_id: str, arguments: dict[str, Any], code: str) -> None:
    with pytest.raises(OpenEOError) as err:
        _call(process_id, _spec_example(), **arguments)
    assert err.value.code == code

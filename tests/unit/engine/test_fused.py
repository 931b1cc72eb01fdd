"""Fused callbacks (:mod:`eostation.engine.fused`) give exactly the ordinary result.

Each graph runs twice through the evaluator: on a dask-backed cube (fused when the
callback qualifies) and on the same values in memory (always the ordinary path). The
values, nulls and dtype must be identical, and the dask graph shows whether the fused
kernel was used, so a silent fallback is caught as well as a wrong answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine import fused
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

LIMITS = EngineLimits()

REGISTRY = default_registry()
BANDS = ["B04", "B08", "SCL"]


def _cube(dtype: Any = np.float32, chunks: dict[str, int] | None = None) -> xr.DataArray:
    rng = np.random.default_rng(7)
    shape = (5, len(BANDS), 40, 30)
    if np.dtype(dtype).kind == "f":
        values = rng.uniform(-2, 3000, shape).astype(dtype)
        values[:, 2] = rng.integers(0, 12, shape[:1] + shape[2:])
        pool = np.array([np.nan, 0, np.inf, -np.inf, 3, 8], dtype=dtype)
        holes = rng.random(shape) < 0.1
        values[holes] = rng.choice(pool, int(holes.sum()))
    else:
        values = rng.integers(0, 12, shape).astype(dtype)
    cube = xr.DataArray(
        values,
        dims=("t", "bands", "y", "x"),
        coords={"t": np.arange(5), "bands": BANDS, "y": np.arange(40.0), "x": np.arange(30.0)},
    )
    return cube.chunk(chunks or {"t": 5, "bands": 1, "y": 16, "x": 16})


def _el(label: str) -> dict[str, Any]:
    return {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"}, "label": label}}  # fmt: skip


def _op(process_id: str, x: Any, y: Any = None) -> dict[str, Any]:
    arguments = {"x": x} if y is None else {"x": x, "y": y}
    return {"process_id": process_id, "arguments": arguments}


def _node(name: str) -> dict[str, str]:
    return {"from_node": name}


CLOUDS = {
    "scl": _el("SCL"),
    "c3": _op("eq", _node("scl"), 3),
    "c8": _op("eq", _node("scl"), 8),
    "c9": _op("eq", _node("scl"), 9),
    "o1": _op("or", _node("c3"), _node("c8")),
    "o2": _op("or", _node("o1"), _node("c9")),
}
NDVI = {
    "red": _el("B04"),
    "nir": _el("B08"),
    "d": _op("subtract", _node("nir"), _node("red")),
    "s": _op("add", _node("nir"), _node("red")),
    "q": _op("divide", _node("d"), _node("s")),
}
MIXED = {
    "red": _el("B04"),
    "nir": _el("B08"),
    "nd": _op("normalized_difference", _node("nir"), _node("red")),
    "g": _op("gt", _node("nd"), 0.2),
    "l": _op("lte", _node("red"), 1500),
    "n": _op("not", _node("l")),
    "a": _op("and", _node("g"), _node("n")),
    "m": _op("multiply", _node("a"), 2),
}
LOGIC = {
    "red": _el("B04"),
    "scl": {
        "process_id": "array_element",
        "arguments": {"data": {"from_parameter": "data"}, "index": 2},
    },
    "x": _op("neq", _node("scl"), 0),
    "y": _op("lt", _node("red"), 100),
    "a": _op("and", _node("x"), _node("y")),
    "o": _op("or", _node("a"), _node("y")),
    "n": _op("not", _node("o")),
    "z": _op("gte", _node("n"), 1),
}
UNARY = {
    "red": _el("B04"),
    "nir": _el("B08"),
    "d": _op("subtract", _node("nir"), _node("red")),
    "a": _op("absolute", _node("d")),
    "s": _op("sqrt", _node("a")),
    "l": _op("ln", _node("s")),
    "e": {"process_id": "exp", "arguments": {"p": {"from_node": "l"}}},
    "g": _op("gt", _node("d"), 0),
    "i": {
        "process_id": "if",
        "arguments": {"value": {"from_node": "g"}, "accept": {"from_node": "e"}},
    },
    "j": {
        "process_id": "if",
        "arguments": {"value": {"from_node": "g"}, "accept": 1, "reject": {"from_node": "i"}},
    },
}
APPLY = {
    "m": _op("multiply", {"from_parameter": "x"}, 0.5),
    "l": _op("lt", _node("m"), 600),
    "h": _op("gt", {"from_parameter": "x"}, 2500),
    "o": _op("or", _node("l"), _node("h")),
}


def _result(graph: dict[str, Any]) -> dict[str, Any]:
    nodes = {k: dict(v) for k, v in graph.items()}
    nodes[list(nodes)[-1]]["result"] = True
    return {"process_graph": nodes}


def _reduce(reducer: dict[str, Any], cube: xr.DataArray) -> Any:
    graph = {
        "r": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "dimension": "bands",
                "reducer": _result(reducer),
            },
            "result": True,
        }
    }
    return evaluate({"process_graph": graph}, EvalContext(REGISTRY, LIMITS), {"cube": cube})


def _apply(process: dict[str, Any], cube: xr.DataArray) -> Any:
    graph = {
        "a": {
            "process_id": "apply",
            "arguments": {"data": {"from_parameter": "cube"}, "process": _result(process)},
            "result": True,
        }
    }
    return evaluate({"process_graph": graph}, EvalContext(REGISTRY, LIMITS), {"cube": cube})


def _was_fused(result: xr.DataArray) -> bool:
    return any(name.startswith("fused-callback") for name in result.data.dask.layers)


def _same(lazy: xr.DataArray, eager: xr.DataArray) -> None:
    assert lazy.dims == eager.dims
    computed = lazy.values
    assert computed.dtype == eager.dtype
    np.testing.assert_array_equal(computed, eager.values)  # NaN equal to NaN


@pytest.mark.parametrize(
    ("reducer", "dtype"),
    [
        (CLOUDS, np.float32),
        (NDVI, np.float32),
        (MIXED, np.float32),
        (LOGIC, np.float32),
        (NDVI, np.float64),
        (CLOUDS, np.uint8),
        (LOGIC, np.int16),
        (NDVI, np.uint16),
        (UNARY, np.float32),
        (UNARY, np.int16),
        (MIXED, np.int8),
    ],
    ids=[
        "clouds",
        "ndvi",
        "mixed",
        "logic",
        "ndvi-f64",
        "clouds-u8",
        "logic-i16",
        "ndvi-u16",
        "unary-if",
        "unary-if-i16",
        "mixed-i8",
    ],
)
def test_fused_reducer_equals_ordinary(reducer: dict[str, Any], dtype: Any) -> None:
    cube = _cube(dtype)
    lazy = _reduce(reducer, cube)
    assert _was_fused(lazy)
    _same(lazy, _reduce(reducer, cube.compute()))
    assert lazy.dims == ("t", "y", "x")


def test_single_chunk_along_the_reduced_dimension_and_whole_cube_chunks() -> None:
    cube = _cube(chunks={"t": -1, "bands": -1, "y": -1, "x": -1})
    lazy = _reduce(MIXED, cube)
    assert _was_fused(lazy)
    _same(lazy, _reduce(MIXED, cube.compute()))


def test_slabs_smaller_than_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused, "SLAB_CELLS", 7)  # a few rows per slab, ragged last slab
    cube = _cube()
    lazy = _reduce(CLOUDS, cube)
    assert _was_fused(lazy)
    _same(lazy, _reduce(CLOUDS, cube.compute()))


def test_fused_apply_equals_ordinary() -> None:
    cube = _cube()
    lazy = _apply(APPLY, cube)
    assert _was_fused(lazy)
    _same(lazy, _apply(APPLY, cube.compute()))
    assert lazy.dims == cube.dims


def test_known_cloud_mask_values() -> None:
    values = np.array([[3, 8, 9, 4, np.nan, 0]], dtype=np.float32)  # SCL along x
    cube = xr.DataArray(
        np.stack([values, values, values])[None],
        dims=("t", "bands", "y", "x"),
        coords={"bands": BANDS},
    ).chunk({"x": 2})
    out = _reduce(CLOUDS, cube)
    assert _was_fused(out)
    np.testing.assert_array_equal(out.values[0, 0], [1, 1, 1, 0, np.nan, 0])


@pytest.mark.parametrize(
    "reducer",
    [
        {
            "scl": _el("SCL"),
            "e": {
                "process_id": "eq",
                "arguments": {"x": {"from_node": "scl"}, "y": 3, "delta": 0.5},
            },
        },
        {
            "scl": _el("SCL"),
            "i": {"process_id": "inspect", "arguments": {"data": {"from_node": "scl"}}},
        },
        {
            "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
            "g": _op("gt", _node("m"), 1),
        },
    ],
    ids=["delta", "inspect", "mean"],
)
def test_other_callbacks_take_the_ordinary_path(reducer: dict[str, Any]) -> None:
    cube = _cube()
    lazy = _reduce(reducer, cube)
    assert not _was_fused(lazy)
    _same(lazy, _reduce(reducer, cube.compute()))


def test_a_missing_band_still_raises_the_spec_error() -> None:
    reducer = {"b": _el("B99"), "g": _op("gt", _node("b"), 1)}
    with pytest.raises(OpenEOError) as err:
        _reduce(reducer, _cube())
    assert err.value.params.get("exception", err.value.code) == "ArrayElementNotAvailable"


def test_a_kernel_that_disagrees_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    names, defaults, _ = fused.KERNELS["subtract"]
    wrong = dict(fused.KERNELS)
    wrong["subtract"] = (names, defaults, lambda slab, x, y: x + y)
    monkeypatch.setattr(fused, "KERNELS", wrong)
    cube = _cube()
    lazy = _reduce(NDVI, cube)
    assert not _was_fused(lazy)
    _same(lazy, _reduce(NDVI, cube.compute()))

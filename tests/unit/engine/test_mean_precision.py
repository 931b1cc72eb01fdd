"""``mean`` over float32 cubes accumulates in float64 and still returns float32."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from tests.graphs import reduce_mean

LIMITS = EngineLimits()

REGISTRY = default_registry()


def _reduce_mean(cube: xr.DataArray, dimension: str = "t") -> xr.DataArray:
    graph = {
        "process_graph": {
            "r": {**reduce_mean({"from_parameter": "cube"}, dimension), "result": True}
        }
    }
    out = evaluate(graph, EvalContext(REGISTRY, LIMITS), {"cube": cube})
    assert isinstance(out, xr.DataArray)
    return out


def _long_series() -> tuple[xr.DataArray, np.ndarray]:
    """20 000 dates of 8×8 pixels near 1000: a float32 running sum along ``t`` drifts by
    ~0.08 in the mean, over 1000 times the float32 spacing at 1000 (6.1e-5)."""
    values = (1000 + np.random.default_rng(7).random((20_000, 8, 8))).astype(np.float32)
    cube = xr.DataArray(values, dims=("t", "y", "x"))
    return cube, values.astype(np.float64).mean(axis=0)


@pytest.mark.parametrize("chunks", [None, {"t": 4_000}])
def test_float32_mean_does_not_drift(chunks: dict[str, int] | None) -> None:
    cube, exact = _long_series()
    out = _reduce_mean(cube if chunks is None else cube.chunk(chunks))
    assert out.dtype == np.float32
    # Correct to float32 rounding: half the spacing of float32 numbers at 1000.
    assert float(np.abs(out.values.astype(np.float64) - exact).max()) <= 3.1e-5


def test_float32_mean_skips_nodata() -> None:
    values = np.array([[1.5, np.nan, 2.5], [np.nan, np.nan, np.nan]], dtype=np.float32)
    out = _reduce_mean(xr.DataArray(values, dims=("y", "t")))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.values, np.array([2.0, np.nan], dtype=np.float32))


def test_float64_and_integer_means_keep_their_result_types() -> None:
    floats = _reduce_mean(xr.DataArray(np.array([[0.1, 0.2, 0.3]]), dims=("y", "t")))
    assert floats.dtype == np.float64 and floats.values[0] == pytest.approx(0.2, abs=1e-15)
    ints = _reduce_mean(xr.DataArray(np.array([[1, 2, 4]], dtype=np.int16), dims=("y", "t")))
    assert ints.dtype == np.float64 and ints.values[0] == pytest.approx(7 / 3)


def test_chunked_mean_skips_nodata_on_some_dates_only() -> None:
    values = np.random.default_rng(3).normal(size=(10, 6, 6)).astype(np.float32)
    values[::3, :2] = np.nan  # nulls on some dates, most dates without
    values[:, 5, 5] = np.nan  # an all-null pixel
    out = _reduce_mean(xr.DataArray(values, dims=("t", "y", "x")).chunk({"y": 3}))
    assert out.dtype == np.float32
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmean(values.astype(np.float64), axis=0).astype(np.float32)
    np.testing.assert_array_equal(out.values, expected)

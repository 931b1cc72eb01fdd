"""Property tests: the statistics kernels agree with numpy, on lists and on cube views."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.math import add, mod
from eostation.engine.processes.statistics import mean, median, quantiles, sd

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
with_nulls = st.lists(st.one_of(finite, st.none()), min_size=0, max_size=30)
numbers = st.lists(finite, min_size=2, max_size=30)


@given(with_nulls)
def test_mean_ignores_nulls(values: list[float | None]) -> None:
    kept = [v for v in values if v is not None]
    result = mean(values)
    if not kept:
        assert result is None
    else:
        assert math.isclose(result, float(np.mean(kept)), rel_tol=1e-9, abs_tol=1e-6)
    if len(kept) < len(values):
        assert mean(values, ignore_nodata=False) is None


@given(numbers)
def test_sd_is_the_sample_deviation(values: list[float]) -> None:
    assert math.isclose(sd(values), float(np.std(values, ddof=1)), rel_tol=1e-7, abs_tol=1e-6)


@given(numbers, st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=5, unique=True))
def test_quantiles_match_numpy_type7(values: list[float], probabilities: list[float]) -> None:
    probabilities = sorted(probabilities)
    ours = quantiles(values, probabilities=probabilities)
    expected = np.quantile(values, probabilities, method="linear")
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-6)


@settings(max_examples=30)
@given(
    st.lists(
        st.lists(st.one_of(finite, st.just(math.nan)), min_size=3, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_cube_view_reduces_like_lists(rows: list[list[float]]) -> None:
    """Reducing a cube along ``t`` equals reducing each pixel's list with nulls."""
    cube = xr.DataArray(np.array(rows, dtype=float), dims=["t", "x"])
    out = median(LabeledArray(cube, "t"))
    for pixel in range(3):
        column = [None if math.isnan(r[pixel]) else r[pixel] for r in rows]
        expected = median(column)
        got = float(out.values[pixel])
        assert (expected is None and math.isnan(got)) or math.isclose(got, expected, abs_tol=1e-9)


@given(finite, finite)
def test_elementwise_scalars_equal_arrays(x: float, y: float) -> None:
    assert float(add(xr.DataArray([x]), y).values[0]) == add(x, y)
    if y != 0:
        assert math.isclose(float(mod(np.array([x]), y)[0]), mod(x, y), abs_tol=1e-9)

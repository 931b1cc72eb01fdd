"""Comparisons, and/or and mask on dask cubes: the per-chunk kernels keep null semantics.

Chunks with and without nulls take different paths inside the kernels; the cubes here
mix both and the results are checked against the three-valued truth tables.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from eostation.engine import LabeledArray, default_registry

NAN = np.nan


def _fn(process_id: str):  # type: ignore[no-untyped-def]
    return default_registry().get(process_id).function


def _cube(values: np.ndarray, chunks: int = 3) -> xr.DataArray:
    return xr.DataArray(da.from_array(values, chunks=chunks), dims=["x"])


def test_comparison_is_null_only_where_an_operand_is_null() -> None:
    # First chunk without nulls, second and third with.
    x = np.array([1, 3, 5, 3, NAN, 7, NAN, NAN, 3], dtype=np.float32)
    y = np.array([1, 2, 5, NAN, 1, 7, 2, NAN, 4], dtype=np.float32)
    eq = _fn("eq")(x=_cube(x), y=_cube(y))
    assert eq.dtype == np.float32 and eq.chunks is not None
    np.testing.assert_array_equal(eq.values, [1, 0, 1, NAN, NAN, 1, NAN, NAN, 0])
    neq = _fn("neq")(x=_cube(x), y=3)
    np.testing.assert_array_equal(neq.values, [1, 0, 1, 0, NAN, 1, NAN, NAN, 0])
    gt = _fn("gt")(x=_cube(x), y=_cube(y))
    np.testing.assert_array_equal(gt.values, [0, 1, 0, NAN, NAN, 0, NAN, NAN, 0])
    between = _fn("between")(x=_cube(x), min=2, max=5, exclude_max=True)
    np.testing.assert_array_equal(between.values, [0, 1, 0, 1, NAN, 0, NAN, NAN, 1])


def test_comparison_of_null_free_integers_stays_boolean() -> None:
    x = _cube(np.array([1, 3, 5, 3, 0, 7], dtype=np.uint16))
    out = _fn("eq")(x=x, y=3)
    assert out.dtype == bool
    np.testing.assert_array_equal(out.values, [False, True, False, True, False, False])


def test_comparison_on_a_band_view_keeps_the_view() -> None:
    values = np.array([[1.0, NAN], [3.0, 3.0]])
    view = LabeledArray(xr.DataArray(da.from_array(values, chunks=1), dims=["bands", "x"]), "x")
    out = _fn("eq")(x=view, y=3)
    assert isinstance(out, LabeledArray) and out.dim == "x"
    np.testing.assert_array_equal(out.data.values, [[0, NAN], [1, 1]])


# Every pair of {false, true, null}; chunks of 3 put the nulls in the last chunk only.
A = np.array([0, 0, 0, 1, 1, 1, NAN, NAN, NAN], dtype=np.float32)
B = np.array([0, 1, NAN, 0, 1, NAN, 0, 1, NAN], dtype=np.float32)
AND = [0, 0, 0, 0, 1, NAN, 0, NAN, NAN]
OR = [0, 1, NAN, 1, 1, 1, NAN, 1, NAN]


@pytest.mark.parametrize(("process_id", "expected"), [("and", AND), ("or", OR)])
def test_and_or_follow_three_valued_logic(process_id: str, expected: list[float]) -> None:
    fn = _fn(process_id)
    for chunks in (3, 9):
        out = fn(x=_cube(A, chunks), y=_cube(B, chunks))
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.values, expected)
        swapped = fn(x=_cube(B, chunks), y=_cube(A, chunks))
        np.testing.assert_array_equal(swapped.values, expected)


@pytest.mark.parametrize(("process_id", "expected"), [("and", AND), ("or", OR)])
def test_and_or_with_a_scalar(process_id: str, expected: list[float]) -> None:
    fn = _fn(process_id)
    table = np.array(expected).reshape(3, 3)
    for column, scalar in enumerate([False, True, None]):
        out = fn(x=_cube(A[::3].copy()), y=scalar)
        np.testing.assert_array_equal(out.values, table[:, column])


def test_and_or_of_booleans_stay_boolean() -> None:
    a = _cube(np.array([False, False, True, True]), 2)
    b = _cube(np.array([False, True, False, True]), 2)
    both = _fn("and")(x=a, y=b)
    either = _fn("or")(x=a, y=b)
    assert both.dtype == bool and either.dtype == bool
    np.testing.assert_array_equal(both.values, [False, False, False, True])
    np.testing.assert_array_equal(either.values, [False, True, True, True])


def test_mask_counts_null_mask_values_as_set() -> None:
    data = xr.DataArray(da.from_array(np.arange(1.0, 7.0), chunks=3), dims=["x"])
    flags = xr.DataArray(da.from_array(np.array([0, 1, NAN, 0, 2, 0]), chunks=3), dims=["x"])
    out = _fn("mask")(data=data, mask=flags)
    np.testing.assert_array_equal(out.values, [1, NAN, NAN, 4, NAN, 6])
    bools = xr.DataArray(np.array([True, False, False, True, False, False]), dims=["x"])
    out = _fn("mask")(data=data, mask=bools, replacement=0)
    np.testing.assert_array_equal(out.values, [0, 2, 3, 0, 5, 6])

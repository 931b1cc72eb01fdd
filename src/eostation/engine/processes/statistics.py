"""Statistics reducers over an array or one dimension of a cube (cumulative: :mod:`.cumulative`).

Each kernel reduces along the array axis given by :func:`numeric_view`: the whole
list for plain arrays, or ``LabeledArray.dim`` for a cube, in one vectorised xarray
call (lazy under dask). ``ignore_nodata=False`` makes any null poison the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import (
    ARRAY_DIM,
    LabeledArray,
    plain_numbers,
    to_python,
)
from eostation.engine.processes.chunk_reducers import mean_along, median_along
from eostation.engine.registry import process
from eostation.engine.schema import NUMBER_ARRAY, NumberArray, NumberOrNull, Param
from eostation.errors import ProcessParameterInvalid

_STATS = ("math > statistics", "reducer")
Bool = Annotated[bool, Param({"type": "boolean"})]


def single_chunk(array: xr.DataArray, dim: str) -> xr.DataArray:
    """Order statistics need the whole axis in one dask chunk."""
    if array.chunks is not None:
        return array.chunk({dim: -1})
    return array


def _stacked(values: list[Any]) -> LabeledArray:
    """A list holding cubes (e.g. ``sum([x, y])`` in an overlap resolver) as a view along
    a new axis, broadcast over the cubes' dimensions; null elements become NaN."""
    arrays = [
        v.data if isinstance(v, LabeledArray) else v if isinstance(v, xr.DataArray)
        else xr.DataArray(np.nan if v is None else v)
        for v in values
    ]  # fmt: skip
    return LabeledArray(xr.concat(xr.broadcast(*arrays), dim=ARRAY_DIM), ARRAY_DIM)


def _reduce(
    data: Any, ignore_nodata: bool, kernel: Callable[[xr.DataArray, str, bool], Any]
) -> Any:
    """Cubes: NaN is null and skipped on request. Lists: nulls dropped, NaN propagates."""
    if isinstance(data, list) and any(isinstance(v, (xr.DataArray, LabeledArray)) for v in data):
        data = _stacked(data)
    if isinstance(data, LabeledArray):
        with np.errstate(all="ignore"):
            return kernel(data.numeric(), data.dim, ignore_nodata)
    array = plain_numbers(data, ignore_nodata)
    if array is None or array.size == 0:
        return None
    if array.dtype.kind == "b":
        array = array.astype(int)
    with np.errstate(all="ignore"):
        return to_python(kernel(array, ARRAY_DIM, False), keep_nan=True)


@process("min", categories=_STATS)
def min_(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Smallest value of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The minimum, or null for an empty array.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.min(d, skipna=s) if a.size else np.nan)


@process("max", categories=_STATS)
def max_(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Largest value of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The maximum, or null for an empty array.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.max(d, skipna=s) if a.size else np.nan)


@process("mean", categories=_STATS)
def mean(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Arithmetic mean of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The mean, or null when no value is left.
    """
    return _reduce(data, ignore_nodata, _mean64)


def _mean64(array: xr.DataArray, dim: str, skipna: bool) -> xr.DataArray:
    """Mean accumulated in float64, returned in the input's float type.

    numpy sums along a non-contiguous axis (e.g. ``t`` of a ``(t, y, x)`` cube) one row
    after another, so in float32 the rounding error grows with the length of the axis;
    summing in float64 keeps the mean exact to float32 precision. Dask cubes take the
    per-chunk kernel (float64 accumulation without a float64 copy of the chunk).
    """
    fast = mean_along(array, dim, skipna) if array.chunks is not None else None
    if fast is not None:
        return fast
    if array.dtype.kind == "f" and array.dtype.itemsize < 8:
        return array.astype(np.float64).mean(dim, skipna=skipna).astype(array.dtype)
    return array.mean(dim, skipna=skipna)


@process("median", categories=_STATS)
def median(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Median of an array (mean of the two middle values for even counts).

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The median, or null when no value is left.
    """
    return _reduce(data, ignore_nodata, _median)


def _median(array: xr.DataArray, dim: str, skipna: bool) -> xr.DataArray:
    """Dask cubes: one sort per chunk (float input keeps its type); else numpy's median."""
    fast = median_along(array, dim, skipna) if array.chunks is not None else None
    if fast is not None:
        return fast
    return single_chunk(array.astype(float), dim).median(dim, skipna=skipna)


@process("sum", categories=_STATS)
def sum_(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Sum of all elements.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The sum, or null when no value is left.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.sum(d, skipna=s, min_count=1))


@process("product", categories=_STATS)
def product(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Product of all elements.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The product, or null when no value is left.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.prod(d, skipna=s, min_count=1))


@process("variance", categories=_STATS)
def variance(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Sample variance (divided by ``n - 1``).

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The variance, or null with fewer than two values.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.var(d, skipna=s, ddof=1))


@process("sd", categories=_STATS)
def sd(data: NumberArray, ignore_nodata: Bool = True) -> NumberOrNull:
    """Sample standard deviation (divided by ``n - 1``).

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null gives null.

    Returns:
        The standard deviation, or null with fewer than two values.
    """
    return _reduce(data, ignore_nodata, lambda a, d, s: a.std(d, skipna=s, ddof=1))


def _view(data: Any, ignore_nodata: bool) -> tuple[xr.DataArray | None, str, bool]:
    if isinstance(data, LabeledArray):
        return data.numeric(), data.dim, False
    return plain_numbers(data, ignore_nodata), ARRAY_DIM, True


def _along(data: Any, out: xr.DataArray, new_dim: str) -> Any:
    """An array-valued result: a list for plain input, else a view along the old axis."""
    if not isinstance(data, LabeledArray):
        return to_python(out, keep_nan=True)
    out = out.rename({new_dim: data.dim}).drop_vars(data.dim, errors="ignore")
    order = [d if d in out.dims else data.dim for d in data.data.dims]
    return LabeledArray(out.transpose(*order), data.dim)


@process("extrema", categories=_STATS)
def extrema(
    data: NumberArray, ignore_nodata: Bool = True
) -> Annotated[
    Any,
    Param(
        [
            {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
            {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "null"}},
        ]
    ),
]:
    """Minimum and maximum of an array in one go.

    Args:
        data: Numbers.
        ignore_nodata: Skip null elements; otherwise any null makes both null.

    Returns:
        ``[min, max]``, or ``[null, null]`` when no value is left.
    """
    array, dim, _ = _view(data, ignore_nodata)
    if array is None or array.size == 0:
        return [None, None]
    skip = ignore_nodata and isinstance(data, LabeledArray)  # NaN in a list is a number
    low = array.min(dim, skipna=skip)
    high = array.max(dim, skipna=skip)
    return _along(data, xr.concat([low, high], dim="__extrema__"), "__extrema__")


@process(
    "quantiles",
    categories=("math > statistics",),
    exceptions={
        "QuantilesParameterMissing": "Give 'probabilities'.",
        "QuantilesParameterConflict": "Give 'probabilities' or the deprecated 'q', not both.",
        "AscendingProbabilitiesRequired": "List the probabilities in ascending order.",
    },
)
def quantiles(
    data: NumberArray,
    probabilities: Annotated[
        Any,
        Param(
            [
                {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "number", "minimum": 0, "maximum": 1},
                },
                {"type": "integer", "minimum": 2},
            ],
            show_default=False,
        ),
    ] = None,
    q: Annotated[
        Any, Param({"type": "integer", "minimum": 2}, show_default=False, deprecated=True)
    ] = None,
    ignore_nodata: Bool = True,
) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Sample quantiles by linear interpolation (Hyndman & Fan type 7).

    Args:
        data: Numbers.
        probabilities: Probabilities in ``[0, 1]`` in ascending order, or a number of
            equal-sized intervals.
        q: Deprecated: a number of equal-sized intervals; use ``probabilities``.
        ignore_nodata: Skip null elements; otherwise any null makes every quantile null.

    Returns:
        One value per probability (``q - 1`` values for ``q`` intervals).
    """
    if probabilities is None and q is None:
        raise _invalid("probabilities", "give probabilities", "QuantilesParameterMissing")
    if probabilities is not None and q is not None:
        raise _invalid("q", "give either probabilities or q", "QuantilesParameterConflict")
    intervals = q if probabilities is None else probabilities
    if isinstance(intervals, int):
        probs = [i / intervals for i in range(1, intervals)]
    else:
        probs = list(intervals)
        if probs != sorted(probs):
            raise _invalid("probabilities", "not ascending", "AscendingProbabilitiesRequired")
    array, dim, _ = _view(data, ignore_nodata)
    if array is None or array.size == 0:
        return [None] * len(probs)
    if not isinstance(data, LabeledArray):
        return [_type7(np.sort(array.values.astype(float)), p) for p in probs]
    array = single_chunk(array.astype(float), dim)
    out = array.quantile(probs, dim=dim, skipna=ignore_nodata, method="linear")
    return _along(data, out.drop_vars("quantile"), "quantile")


def _type7(ordered: np.ndarray, probability: float) -> float:
    """Hyndman & Fan type 7 on sorted values, weighting ends so infinities survive."""
    if np.isnan(ordered).any():
        return math.nan
    position = (len(ordered) - 1) * probability
    low = math.floor(position)
    weight = position - low
    if weight == 0:
        return float(ordered[low])
    return float((1 - weight) * ordered[low] + weight * ordered[low + 1])


def _invalid(parameter: str, reason: str, exception: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process="quantiles", parameter=parameter, reason=reason, exception=exception
    )

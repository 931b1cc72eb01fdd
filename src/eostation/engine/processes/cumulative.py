"""Cumulative processes (``cumsum``, ``cumproduct``, ``cummin``, ``cummax``) over an
array or one dimension of a cube; ``ignore_nodata=False`` makes a null poison the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.statistics import Bool, single_chunk
from eostation.engine.registry import process
from eostation.engine.schema import NUMBER_ARRAY, NumberArray, Param

_CUMULATIVE = ("math > cumulative",)


def _cumulative(data: Any, ignore_nodata: bool, skipping: Any, propagating: Any) -> Any:
    if not isinstance(data, LabeledArray):
        return _plain_cumulative(list(data), ignore_nodata, propagating)
    array, dim = data.numeric(), data.dim
    array = single_chunk(array.astype(float), dim)
    kernel = skipping if ignore_nodata else propagating
    out = xr.apply_ufunc(
        lambda a: kernel(a, axis=-1),
        array,
        input_core_dims=[[dim]],
        output_core_dims=[[dim]],
        dask="parallelized",
        output_dtypes=[float],
    ).transpose(*array.dims)
    if ignore_nodata:
        out = out.where(array.notnull())
    return data.with_data(out)


def _plain_cumulative(values: list[Any], ignore_nodata: bool, accumulate: Any) -> list[Any]:
    """Lists: nulls stay null (or poison the rest), NaN is a number and propagates."""
    out: list[Any] = []
    running: list[float] = []
    poisoned = False
    for value in values:
        if value is None or poisoned:
            poisoned = poisoned or not ignore_nodata
            out.append(None)
            continue
        running.append(value)
        with np.errstate(all="ignore"):
            out.append(float(accumulate(np.asarray(running, dtype=float))[-1]))
    return out


def _nan_skipping(ufunc: Any) -> Callable[..., Any]:
    def accumulate(a: np.ndarray, axis: int) -> np.ndarray:
        filled = np.where(np.isnan(a), ufunc.identity if ufunc.identity is not None else np.nan, a)
        return np.asarray(ufunc.accumulate(filled, axis=axis))

    return accumulate


@process("cumsum", categories=_CUMULATIVE, experimental=True)
def cumsum(data: NumberArray, ignore_nodata: Bool = True) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Running sum of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip nulls (they stay null in the output); otherwise a null makes
            every later element null.

    Returns:
        An array of the same length.
    """
    return _cumulative(data, ignore_nodata, _nan_skipping(np.add), np.cumsum)


@process("cumproduct", categories=_CUMULATIVE, experimental=True)
def cumproduct(
    data: NumberArray, ignore_nodata: Bool = True
) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Running product of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip nulls (they stay null in the output); otherwise a null makes
            every later element null.

    Returns:
        An array of the same length.
    """
    return _cumulative(data, ignore_nodata, _nan_skipping(np.multiply), np.cumprod)


@process("cummin", categories=_CUMULATIVE, experimental=True)
def cummin(data: NumberArray, ignore_nodata: Bool = True) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Running minimum of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip nulls (they stay null in the output); otherwise a null makes
            every later element null.

    Returns:
        An array of the same length.
    """
    return _cumulative(data, ignore_nodata, np.fmin.accumulate, np.minimum.accumulate)


@process("cummax", categories=_CUMULATIVE, experimental=True)
def cummax(data: NumberArray, ignore_nodata: Bool = True) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Running maximum of an array.

    Args:
        data: Numbers.
        ignore_nodata: Skip nulls (they stay null in the output); otherwise a null makes
            every later element null.

    Returns:
        An array of the same length.
    """
    return _cumulative(data, ignore_nodata, np.fmax.accumulate, np.maximum.accumulate)

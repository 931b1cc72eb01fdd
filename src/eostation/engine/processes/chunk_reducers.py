"""Reductions along one dimension computed chunk by chunk with plain numpy.

A reducer over ``t`` of a tile chunked as "all dates × 512²" needs no communication
between chunks: each chunk holds every value of its pixels. These kernels exploit that
and do in one numpy pass what the generic xarray/dask reductions do in several
(NaN replacement copies, a float64 copy of the whole chunk, per-chunk ``nanmedian``
that falls back to a Python loop over masked arrays):

- :func:`mean_along`: NaN-skipping (or propagating) mean, accumulated in float64
  one slice of the axis at a time, returned in the input's float type;
- :func:`median_along`: the median by sorting each pixel's values once (NaN sort
  last, the middle of the valid ones is picked), float input keeps its type.

Both return None when they do not apply (empty axis, non-numeric data), and the
caller falls back to the generic path. The reduced dimension is rechunked into one
chunk first (``reduce_dimension`` already keeps all dates together).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

__all__ = ["mean_along", "median_along"]

Kernel = Callable[[np.ndarray[Any, Any], int], np.ndarray[Any, Any]]


def _result_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _applicable(array: xr.DataArray, dim: str) -> bool:
    return (
        isinstance(array, xr.DataArray)
        and dim in array.dims
        and array.sizes[dim] > 0
        and array.dtype.kind in "fiub"
    )


def _along(array: xr.DataArray, dim: str, kernel: Kernel) -> xr.DataArray:
    """``kernel(block, axis)`` applied per chunk; the axis is reduced away.

    ``map_blocks`` on the cube's own axis order: ``apply_ufunc`` would move the axis
    last and dask would copy every chunk into that order before the kernel runs. The
    kernel keeps the axis (length 1) and it is dropped afterwards: dropping it in
    ``map_blocks`` makes dask copy each chunk into a fresh array first.
    """
    axis = array.get_axis_num(dim)
    data = array.data
    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks=-1)
    data = data.rechunk({axis: -1})

    def keep_axis(block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.expand_dims(kernel(block, axis), axis)

    chunks = tuple((1,) if i == axis else c for i, c in enumerate(data.chunks))
    kept = data.map_blocks(
        keep_axis, chunks=chunks, dtype=_result_dtype(array.dtype), meta=np.empty(0)
    )
    reduced = kept[(slice(None),) * axis + (0,)]
    coords = {name: c for name, c in array.coords.items() if dim not in c.dims}
    dims = [d for d in array.dims if d != dim]
    return xr.DataArray(reduced, dims=dims, coords=coords, attrs=dict(array.attrs))


def _mean_kernel(skipna: bool) -> Kernel:
    def kernel(block: np.ndarray[Any, Any], axis: int) -> np.ndarray[Any, Any]:
        block = np.moveaxis(block, axis, 0)
        total = np.zeros(block.shape[1:], dtype=np.float64)
        missing = np.zeros(block.shape[1:], dtype=np.int64)
        floating = block.dtype.kind == "f"
        for i in range(block.shape[0]):
            # One slice of the axis: for a (t, y, x) chunk a contiguous date.
            values = block[i]
            # A slice without NaN (one read-only min pass tells) is added as it is.
            if skipna and floating and np.isnan(values.min(initial=np.inf)):
                null = np.isnan(values)
                np.add(total, values, out=total, where=~null)
                missing += null
            else:
                total += values
        with np.errstate(all="ignore"):
            count = block.shape[0] - missing if skipna and floating else block.shape[0]
            mean: np.ndarray[Any, Any] = total / count
        return mean.astype(_result_dtype(block.dtype), copy=False)

    return kernel


def mean_along(array: xr.DataArray, dim: str, skipna: bool) -> xr.DataArray | None:
    """Mean along ``dim`` in float64 accumulation, NaN skipped when ``skipna``."""
    if not _applicable(array, dim):
        return None
    return _along(array, dim, _mean_kernel(skipna))


def _median_kernel(skipna: bool) -> Kernel:
    def kernel(block: np.ndarray[Any, Any], axis: int) -> np.ndarray[Any, Any]:
        block = np.moveaxis(block, axis, -1)
        n_axis = block.shape[-1]
        dtype = _result_dtype(block.dtype)
        # A private, C-ordered copy (chunks may be shared): each pixel's values contiguous.
        ordered = np.array(block, dtype=dtype, order="C", copy=True).reshape(-1, n_axis)
        ordered.sort(axis=-1)  # NaN sort last
        valid = n_axis - np.count_nonzero(np.isnan(ordered), axis=-1)
        low = np.maximum(valid - 1, 0) // 2
        high = valid // 2
        high = np.minimum(high, n_axis - 1)
        rows = np.arange(ordered.shape[0])
        a, b = ordered[rows, low].astype(np.float64), ordered[rows, high].astype(np.float64)
        median = (a + b) / 2
        median[valid == 0] = np.nan
        if not skipna:
            median[valid < n_axis] = np.nan
        out: np.ndarray[Any, Any] = median.astype(dtype, copy=False).reshape(block.shape[:-1])
        return out

    return kernel


def median_along(array: xr.DataArray, dim: str, skipna: bool) -> xr.DataArray | None:
    """Median along ``dim`` (mean of the two middle values for even counts)."""
    if not _applicable(array, dim):
        return None
    return _along(array, dim, _median_kernel(skipna))

"""Element-wise application of a kernel to scalars, numpy arrays, xarray cubes and views.

Element-wise processes (``add``, ``sin``, ``gt``, ...) receive either Python scalars
(``None`` is null), numpy arrays, lazy xarray ``DataArray`` cubes (NaN is null) or a
:class:`~eostation.engine.labeled.LabeledArray` view. :func:`elementwise` unwraps
views, maps scalar nulls to NaN when an array takes part, never computes dask arrays,
and turns numpy scalars back into Python values.

Booleans with nulls: comparing arrays that may hold NaN yields a *nullable boolean*
array — float32 1.0/0.0 with NaN where an operand was null — because numpy booleans
cannot hold null. Comparisons of null-free (integer/bool) arrays stay ``bool``.

:func:`nullable_op` computes such a result for numeric cubes in one kernel per chunk
(:func:`fused`): the comparison, one cheap NaN test per operand chunk and, only for
chunks that hold a null, the NaN fill — instead of separate ``isnull``, ``or`` and
``where`` passes over each chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import LabeledArray

__all__ = [
    "as_bool_array",
    "elementwise",
    "fused",
    "has_nan",
    "is_array",
    "nullable",
    "nullable_op",
    "scalar_out",
    "select",
]


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array (numpy, xarray or a labeled view), not a scalar."""
    return isinstance(value, (np.ndarray, xr.DataArray, LabeledArray))


def scalar_out(value: Any) -> Any:
    """numpy scalars → Python scalars; everything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def elementwise(kernel: Callable[..., Any], *args: Any, null_in_null_out: bool = True) -> Any:
    """Apply ``kernel`` element-wise to scalars or arrays, propagating nulls.

    With only scalar arguments, any ``None`` argument gives ``None`` (unless
    ``null_in_null_out`` is False, then the kernel sees the ``None``). With arrays,
    ``None`` becomes NaN and the kernel runs on the (lazy) arrays once.
    """
    view = next((a for a in args if isinstance(a, LabeledArray)), None)
    unwrapped = [a.data if isinstance(a, LabeledArray) else a for a in args]
    if not any(is_array(a) for a in unwrapped):
        if null_in_null_out and any(a is None for a in unwrapped):
            return None
        with np.errstate(all="ignore"):
            return scalar_out(kernel(*unwrapped))
    unwrapped = [np.nan if a is None else a for a in unwrapped]
    with np.errstate(all="ignore"):
        out = kernel(*unwrapped)
    if view is not None and isinstance(out, xr.DataArray):
        return view.with_data(out)
    return out


def nullable(result: Any, *operands: Any) -> Any:
    """Mark ``result`` null wherever any array operand is null (see module docs)."""
    masks = [
        xr.DataArray(o).isnull() if isinstance(o, np.ndarray) else o.isnull()
        for o in operands
        if isinstance(o, (xr.DataArray, np.ndarray)) and o.dtype.kind in "fcOmM"
    ]
    if not masks:
        return result
    mask = masks[0]
    for other in masks[1:]:
        mask = mask | other
    # float32 holds 1/0/NaN exactly, at half the memory of float64 over a whole cube.
    return select(mask, np.float32(np.nan), result)


def has_nan(value: Any) -> bool:
    """Whether a numpy array or scalar holds NaN; one read-only pass (``min`` propagates
    NaN), no temporary array."""
    array = np.asarray(value)
    return bool(array.dtype.kind == "f" and array.size and np.isnan(array.min()))


def _numeric_cube(value: Any) -> bool:
    return isinstance(value, xr.DataArray) and value.dtype.kind in "biuf"


def fused(kernel: Callable[..., Any], dtype: Any, *args: Any) -> Any:
    """``kernel(*args)`` on numpy blocks, once per chunk, when every array in ``args``
    is a numeric ``DataArray`` and the others are scalars; None otherwise.

    The kernel receives the blocks broadcast against each other (alignment and
    broadcasting as in xarray arithmetic) and the scalars as they are.
    """
    where = [i for i, a in enumerate(args) if is_array(a) or np.ndim(a) > 0]
    arrays = [args[i] for i in where]
    if not arrays or not all(_numeric_cube(a) for a in arrays):
        return None

    def block(*blocks: Any) -> Any:
        values = list(args)
        for i, b in zip(where, blocks, strict=True):
            values[i] = b
        return kernel(*values)

    return xr.apply_ufunc(
        block, *arrays, dask="parallelized", output_dtypes=[np.dtype(dtype)], keep_attrs=False
    )


def nullable_op(op: Callable[..., Any], *args: Any) -> Any:
    """``op`` (boolean-valued) element-wise, null where an array operand is null.

    The values of ``nullable(op(*args), *args)``, computed in one pass per chunk for
    numeric cubes (see the module docs).
    """

    def kernel(*values: Any) -> Any:
        floating = any(_numeric_cube(v) and v.dtype.kind == "f" for v in values)
        out = fused(_null_where_nan(op), np.float32 if floating else bool, *values)
        return nullable(op(*values), *values) if out is None else out

    return elementwise(kernel, *args)


def _null_where_nan(op: Callable[..., Any]) -> Callable[..., Any]:
    """A block kernel: ``op``, then NaN where an array operand is NaN (float32 out)."""

    def block(*values: Any) -> Any:
        with np.errstate(all="ignore"):
            result = np.asarray(op(*values))
        arrays = [v for v in values if isinstance(v, np.ndarray)]  # scalars are never null
        if not any(a.dtype.kind == "f" for a in arrays):
            return result
        out = result.astype(np.float32)
        for a in arrays:
            if has_nan(a):
                np.copyto(out, np.float32(np.nan), where=np.isnan(a))
        return out

    return block


def as_bool_array(value: Any) -> Any:
    """A nullable-boolean or boolean array as ``bool`` (null → False); scalars unchanged."""
    if isinstance(value, (xr.DataArray, np.ndarray)) and value.dtype.kind == "f":
        return value == 1
    return value


def select(condition: Any, yes: Any, no: Any) -> Any:
    """``yes`` where ``condition`` holds, else ``no``: :func:`xarray.where`, typed."""
    return xr.where(condition, yes, no)  # type: ignore[no-untyped-call]

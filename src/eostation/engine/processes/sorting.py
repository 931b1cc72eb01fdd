"""Sorting: order (a permutation) and sort (the sorted values)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.arrays import batched, items
from eostation.engine.registry import process
from eostation.engine.schema import Param

_SORTABLE_ITEM: dict[str, Any] = {
    "anyOf": [
        {"type": "number"},
        {"type": "null"},
        {"type": "string", "format": "date-time", "subtype": "date-time"},
        {"type": "string", "format": "date", "subtype": "date"},
    ]
}
Sortable = Annotated[Any, Param({"type": "array", "items": _SORTABLE_ITEM})]
Bool = Annotated[bool, Param({"type": "boolean"})]
Nodata = Annotated[Any, Param({"type": ["boolean", "null"]})]


def _key(value: Any) -> Any:
    return pd.Timestamp(value) if isinstance(value, str) else value


def _permutation(values: list[Any], asc: bool, nodata: bool | None) -> list[int]:
    """Stable order of the non-null indices, nulls first/last/dropped per ``nodata``."""
    present = [i for i, v in enumerate(values) if v is not None and v == v]
    missing = [i for i in range(len(values)) if i not in set(present)]
    ranked = sorted(present, key=lambda i: _key(values[i]), reverse=not asc)
    if not asc:
        # Stable for ties in descending order too: equal keys keep their input order.
        ranked = sorted(present, key=lambda i: (_neg(_key(values[i])), i))
    if nodata is None:
        return ranked
    return ranked + missing if nodata else missing + ranked


def _neg(key: Any) -> Any:
    if isinstance(key, pd.Timestamp):
        return -key.value
    return -key


def _sorted_view(view: LabeledArray, asc: bool, nodata: bool | None) -> Any:
    array = view.numeric()
    if array.chunks is not None:
        array = array.chunk({view.dim: -1})

    def kernel(a: np.ndarray) -> np.ndarray:
        out = np.sort(a, axis=-1)  # NaN last
        if not asc:
            valid = np.sort(np.where(np.isnan(a), -np.inf, a), axis=-1)[..., ::-1]
            out = np.where(
                np.arange(a.shape[-1]) < (~np.isnan(a)).sum(-1, keepdims=True), valid, np.nan
            )
        if nodata is False:
            count = np.isnan(a).sum(-1, keepdims=True)
            out = np.take_along_axis(out, (np.arange(a.shape[-1]) - count) % a.shape[-1], axis=-1)
        return out

    return xr.apply_ufunc(
        kernel,
        array.drop_vars(view.dim, errors="ignore"),
        input_core_dims=[[view.dim]],
        output_core_dims=[[view.dim]],
        dask="parallelized",
        output_dtypes=[float],
    ).transpose(*array.dims)


def _ordered_view(view: LabeledArray, asc: bool, nodata: bool | None) -> xr.DataArray:
    """Per-array permutations along the view's dimension, stable like :func:`_permutation`.

    Nulls cannot be dropped from a cube's arrays: they go last unless ``nodata`` is false.
    """
    array = view.numeric()
    if array.chunks is not None:
        array = array.chunk({view.dim: -1})

    def kernel(a: np.ndarray) -> np.ndarray:
        missing = np.isnan(a)
        value = np.where(missing, 0.0, a)
        # np.lexsort is stable and sorts by its last key first: nulls, then values.
        first = ~missing if nodata is False else missing
        return np.lexsort((value if asc else -value, first), axis=-1)

    ordered: xr.DataArray = xr.apply_ufunc(
        kernel,
        array.drop_vars(view.dim, errors="ignore"),
        input_core_dims=[[view.dim]],
        output_core_dims=[[view.dim]],
        dask="parallelized",
        output_dtypes=[np.int64],
    ).transpose(*array.dims)
    return ordered


@process("order", categories=("arrays", "sorting"))
def order(
    data: Sortable, asc: Bool = True, nodata: Nodata = None
) -> Annotated[Any, Param({"type": "array", "items": {"type": "integer", "minimum": 0}})]:
    """The permutation that sorts an array (stable: ties keep their order).

    Args:
        data: Numbers or dates to order.
        asc: Ascending (true) or descending (false).
        nodata: Where nulls go: null drops them, true puts them last, false first.

    Returns:
        Indices of the elements in sorted order.
    """
    view = batched(data)
    if view is not None:
        return view.with_data(_ordered_view(view, asc, nodata))
    values, _ = items(data)
    return _permutation(values, asc, nodata)


@process("sort", categories=("arrays", "sorting"))
def sort(
    data: Sortable, asc: Bool = True, nodata: Nodata = None
) -> Annotated[Any, Param({"type": "array", "items": _SORTABLE_ITEM})]:
    """Sort an array of numbers or dates.

    On a cube view each array is sorted independently; nulls cannot be dropped
    there and stay at the end unless `nodata` is false.

    Args:
        data: Numbers or dates to sort.
        asc: Ascending (true) or descending (false).
        nodata: Where nulls go: null drops them, true puts them last, false first.

    Returns:
        The sorted values.
    """
    view = batched(data)
    if view is not None:
        return view.with_data(_sorted_view(view, asc, nodata))
    values, _ = items(data)
    return [values[i] for i in _permutation(values, asc, nodata)]

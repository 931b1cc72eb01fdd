"""Reading arrays: element access, first/last, count, labels, search.

A plain list (or a 1-D labeled array) is handled element by element with the spec's
exact semantics. A :class:`LabeledArray` view of a cube is handled in one vectorised
xarray operation along its ``dim``, returning a cube without that dimension.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.labeled import LabeledArray, to_python
from eostation.engine.registry import process
from eostation.engine.schema import (
    ANY_ARRAY,
    AnyArray,
    AnyValue,
    Context,
    Param,
    Scalar,
    callback_schema,
    cb_param,
)
from eostation.engine.vectorize import as_bool_array
from eostation.errors import ProcessParameterInvalid

_ARRAYS = ("arrays",)
Bool = Annotated[bool, Param({"type": "boolean"})]
Label = Annotated[Any, Param([{"type": "number"}, {"type": "string"}], show_default=False)]
Index = Annotated[Any, Param({"type": "integer", "minimum": 0}, show_default=False)]
IndexOrNull = Annotated[Any, Param([{"type": "null"}, {"type": "integer", "minimum": 0}])]


def items(data: Any) -> tuple[list[Any], list[Any] | None]:
    """Values and labels (None when unlabeled) of a list or a 1-D labeled array."""
    if isinstance(data, LabeledArray):
        return data.tolist(), data.labels
    return list(data), None


def rebuild(values: list[Any], labels: list[Any] | None) -> Any:
    """A list, or a labeled array when labels are given."""
    return LabeledArray.from_values(values, labels) if labels is not None else values


def batched(data: Any) -> LabeledArray | None:
    """``data`` when it is a view of a cube (more than one dimension), else None."""
    return data if isinstance(data, LabeledArray) and data.is_batch else None


def as_view(data: Any, like: LabeledArray) -> LabeledArray:
    """``data`` along the dimension of the cube view ``like``.

    A view is returned as it is; a list's elements (scalars, or values computed per
    cell such as ``normalized_difference`` of two elements) are broadcast to the other
    dimensions of ``like`` and stacked, unlabeled.
    """
    if isinstance(data, LabeledArray) and data.is_batch:
        return data
    values, _ = items(data)
    template = like.data.isel({like.dim: 0}, drop=True)
    stacked = [
        xr.broadcast(v, template)[0]
        if isinstance(v, xr.DataArray)
        else xr.full_like(template, np.nan if v is None else v, dtype=float)
        for v in (x.data if isinstance(x, LabeledArray) else x for x in values)
    ]
    if not stacked:
        return LabeledArray(template.expand_dims({like.dim: 0}), like.dim)
    joined = xr.concat(stacked, dim=like.dim, coords="minimal", compat="override", join="override")
    return LabeledArray(joined.transpose(*like.data.dims), like.dim)


def _error(process_id: str, parameter: str, reason: str, exception: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process=process_id, parameter=parameter, reason=reason, exception=exception
    )


@process(
    "array_element",
    categories=("arrays", "reducer"),
    exceptions={
        "ArrayElementNotAvailable": "No element at this index or label.",
        "ArrayElementParameterMissing": "Give 'index' or 'label'.",
        "ArrayElementParameterConflict": "Give 'index' or 'label', not both.",
        "ArrayNotLabeled": "This array has no labels; use 'index'.",
    },
)
def array_element(
    data: AnyArray, index: Index = None, label: Label = None, return_nodata: Bool = False
) -> AnyValue:
    """One element of an array, by zero-based index or by label.

    Args:
        data: The array.
        index: Zero-based position of the element.
        label: Label of the element (labeled arrays only).
        return_nodata: Give null instead of an error when the element does not exist.

    Returns:
        The element.
    """
    if index is None and label is None:
        raise _error(
            "array_element", "index", "give index or label", "ArrayElementParameterMissing"
        )
    if index is not None and label is not None:
        raise _error(
            "array_element", "label", "give index or label", "ArrayElementParameterConflict"
        )
    view = batched(data)
    if view is not None:
        return _element_of_cube(view, index, label, return_nodata)
    values, labels = items(data)
    if label is not None:
        if labels is None:
            raise _error("array_element", "label", "the array has no labels", "ArrayNotLabeled")
        index = labels.index(label) if label in labels else len(values)
    if 0 <= index < len(values):
        return values[index]
    if return_nodata:
        return None
    if label is not None:
        reason = f"no element labelled {label!r}; the labels are {labels}"
        raise _error("array_element", "label", reason, "ArrayElementNotAvailable")
    raise _error("array_element", "index", f"no element {index}", "ArrayElementNotAvailable")


def _element_of_cube(view: LabeledArray, index: Any, label: Any, nodata: bool) -> Any:
    dim = view.dim
    labels = view.labels
    if label is not None:
        if labels is None:
            raise _error(
                "array_element", "label", f"dimension {dim} has no labels", "ArrayNotLabeled"
            )
        found = [i for i, v in enumerate(labels) if v == label]
        index = found[0] if found else view.size
    if 0 <= index < view.size:
        source = view.data if view.unmerged is None else view.unmerged
        return source.isel({dim: index}).drop_vars(dim, errors="ignore")
    if nodata:
        return xr.full_like(view.data.isel({dim: 0}, drop=True), np.nan, dtype=float)
    where = f"label {label!r}" if label is not None else f"index {index}"
    raise _error("array_element", "index", f"no {where} in {dim}", "ArrayElementNotAvailable")


def _first_valid_kernel(values: np.ndarray, reverse: bool) -> np.ndarray:
    """First non-null element along the last axis (null where all are null)."""
    if reverse:
        values = values[..., ::-1]
    valid = ~pd.isnull(values)
    index = valid.argmax(axis=-1)[..., np.newaxis]
    picked = np.take_along_axis(values, index, axis=-1)[..., 0]
    if values.dtype.kind in "fc":
        return np.where(valid.any(axis=-1), picked, np.nan).astype(values.dtype)
    if values.dtype.kind == "O":
        out = picked.copy()
        out[~valid.any(axis=-1)] = None
        return out
    return picked  # integers and booleans hold no nulls


def _first_valid(view: LabeledArray, reverse: bool) -> xr.DataArray:
    data = view.data
    if data.chunks is not None:
        data = data.chunk({view.dim: -1})  # a pixel's whole series in one block
    result: xr.DataArray = xr.apply_ufunc(
        _first_valid_kernel,
        data,
        input_core_dims=[[view.dim]],
        kwargs={"reverse": reverse},
        dask="parallelized",
        output_dtypes=[data.dtype],
        keep_attrs=True,
    )
    return result


def _end(data: Any, ignore_nodata: bool, reverse: bool) -> Any:
    view = batched(data)
    if view is not None:
        if not ignore_nodata:
            return view.data.isel({view.dim: -1 if reverse else 0}, drop=True)
        return _first_valid(view, reverse)
    values, _ = items(data)
    ordered = values[::-1] if reverse else values
    if not ignore_nodata:
        return ordered[0] if ordered else None
    return next((v for v in ordered if v is not None), None)


@process("first", categories=("arrays", "reducer"))
def first(data: AnyArray, ignore_nodata: Bool = True) -> AnyValue:
    """The first element of an array.

    Args:
        data: The array.
        ignore_nodata: Skip leading nulls and return the first non-null element.

    Returns:
        The first (non-null) element, or null.
    """
    return _end(data, ignore_nodata, reverse=False)


@process("last", categories=("arrays", "reducer"))
def last(data: AnyArray, ignore_nodata: Bool = True) -> AnyValue:
    """The last element of an array.

    Args:
        data: The array.
        ignore_nodata: Skip trailing nulls and return the last non-null element.

    Returns:
        The last (non-null) element, or null.
    """
    return _end(data, ignore_nodata, reverse=True)


_COUNT_CONDITION = [
    callback_schema(
        [
            cb_param("x", "The element being tested.", {}),
            cb_param("context", "Extra data passed to `count`.", {}, default=None),
        ],
        {"type": "boolean"},
        "Whether to count the element.",
    ),
    {"type": "boolean", "const": True},
    {"type": "null"},
]


@process("count", categories=("arrays", "math > statistics", "reducer"))
def count(
    data: AnyArray,
    condition: Annotated[Any, Param(_COUNT_CONDITION)] = None,
    context: Context = None,
) -> Annotated[Any, Param({"type": "number"})]:
    """Count elements: valid ones, all, or those meeting a condition.

    Args:
        data: The array.
        condition: Null counts the valid (non-null) elements, `true` counts every element,
            and a process counts the elements for which it returns true.
        context: Extra data passed to the condition.

    Returns:
        The number of elements counted.
    """
    view = batched(data)
    if view is not None:
        if condition is True:
            return xr.full_like(view.data.isel({view.dim: 0}, drop=True), view.size, dtype=int)
        if condition is None:
            return view.data.notnull().sum(view.dim)
        hits = as_bool_array(condition(x=view.data, context=context))
        return hits.sum(view.dim)
    values, _ = items(data)
    if condition is True:
        return len(values)
    if condition is None:
        return sum(1 for v in values if v is not None and v == v)
    return sum(1 for v in values if condition(x=v, context=context) is True)


@process("array_labels", categories=_ARRAYS)
def array_labels(
    data: Annotated[Any, Param({"type": "array"})],
) -> Annotated[Any, Param({"type": "array", "items": {"type": ["number", "string"]}})]:
    """The labels of an array; for an unlabeled array, its indices.

    Args:
        data: The array.

    Returns:
        The labels in order.
    """
    if isinstance(data, LabeledArray):
        return data.labels if data.labels is not None else list(range(data.size))
    return list(range(len(data)))


def _same_value(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


@process("array_contains", categories=("arrays", "comparison", "reducer"))
def array_contains(data: AnyArray, value: Scalar) -> Annotated[bool, Param({"type": "boolean"})]:
    """Whether an array holds a value; null is never found.

    Args:
        data: The array.
        value: The value to look for.

    Returns:
        True when some element equals `value`.
    """
    view = batched(data)
    if view is not None:
        return (view.data == value).any(view.dim) if value is not None else False
    values, _ = items(data)
    return any(_same_value(v, value) for v in values)


@process("array_find", categories=("arrays", "reducer"))
def array_find(data: AnyArray, value: AnyValue, reverse: Bool = False) -> IndexOrNull:
    """Index of the first (or last) element equal to a value.

    Args:
        data: The array.
        value: The value to look for; null is never found.
        reverse: Search from the end and return the last match.

    Returns:
        The zero-based index, or null when there is no match.
    """
    view = batched(data)
    if view is not None:
        hits = view.data == value
        ordered = hits.isel({view.dim: slice(None, None, -1)}) if reverse else hits
        position = ordered.argmax(view.dim)
        if reverse:
            position = view.size - 1 - position
        return position.where(hits.any(view.dim))
    values, _ = items(data)
    positions = range(len(values) - 1, -1, -1) if reverse else range(len(values))
    return next((i for i in positions if _same_value(values[i], value)), None)


@process("array_find_label", categories=_ARRAYS, experimental=True)
def array_find_label(
    data: AnyArray, label: Annotated[Any, Param([{"type": "number"}, {"type": "string"}])]
) -> IndexOrNull:
    """Index of a label in a labeled array.

    Args:
        data: The array.
        label: The label to look for.

    Returns:
        The zero-based index, or null when the label is absent or the array unlabeled.
    """
    labels = data.labels if isinstance(data, LabeledArray) else None
    if not labels:
        return None
    return next((i for i, v in enumerate(labels) if _same_value(v, label)), None)


def as_result(data: Any, out: Any) -> Any:
    """Results of cube views stay views; 1-D results become Python values."""
    return out if batched(data) is not None else to_python(out, keep_nan=True)


ANY_ARRAY_RESULT = Annotated[Any, Param(ANY_ARRAY)]

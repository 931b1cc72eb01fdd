"""Building and transforming arrays: create, concat, append, modify, rearrange,
apply, filter and linear interpolation of gaps."""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.arrays import as_view, batched, items, rebuild
from eostation.engine.registry import process
from eostation.engine.schema import (
    ANY_ARRAY,
    NUMBER_ARRAY,
    AnyArray,
    AnyValue,
    Context,
    NumberArray,
    Param,
    callback_schema,
    cb_param,
)
from eostation.errors import FeatureUnsupported, ProcessParameterInvalid

_ARRAYS = ("arrays",)
ArrayOut = Annotated[Any, Param(ANY_ARRAY)]
_ELEMENT_PARAMS = [
    cb_param("x", "The element.", {}),
    cb_param("index", "Zero-based position of the element.", {"type": "integer", "minimum": 0}),
    cb_param(
        "label",
        "Label of the element, null for unlabeled arrays.",
        [{"type": "number"}, {"type": "string"}, {"type": "null"}],
        default=None,
    ),
    cb_param("context", "Extra data passed to the process.", {}, default=None),
]
LabelOrNull = Annotated[Any, Param([{"type": "number"}, {"type": "string"}, {"type": "null"}])]
Integer = Annotated[int, Param({"type": "integer", "minimum": 0})]


def _error(process_id: str, parameter: str, reason: str, exception: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process=process_id, parameter=parameter, reason=reason, exception=exception
    )


@process("array_create", categories=_ARRAYS)
def array_create(
    data: AnyArray = [],  # noqa: B006 - published default, never mutated
    repeat: Annotated[int, Param({"type": "integer", "minimum": 1})] = 1,
) -> ArrayOut:
    """Create an array, optionally repeating the given elements.

    Args:
        data: Elements of the new array.
        repeat: How often to repeat `data`.

    Returns:
        The new array.
    """
    return list(data) * repeat


@process(
    "array_create_labeled",
    categories=_ARRAYS,
    experimental=True,
    exceptions={"ArrayLengthMismatch": "'data' and 'labels' differ in length."},
)
def array_create_labeled(
    data: Annotated[Any, Param({})],
    labels: Annotated[
        Any, Param({"type": "array", "uniqueItems": True, "items": {"type": ["number", "string"]}})
    ],
) -> Annotated[Any, Param({"type": "array", "subtype": "labeled-array", "items": {}})]:
    """Attach labels to the elements of an array.

    Args:
        data: The values.
        labels: One unique label per value.

    Returns:
        A labeled array.
    """
    values, _ = items(data)
    if len(values) != len(labels):
        raise _error("array_create_labeled", "labels", "length differs", "ArrayLengthMismatch")
    return LabeledArray.from_values(values, list(labels))


@process(
    "array_concat",
    categories=_ARRAYS,
    exceptions={"ArrayLabelConflict": "Both arrays share a label."},
)
def array_concat(array1: AnyArray, array2: AnyArray) -> ArrayOut:
    """Join two arrays; labels are kept only when both arrays are labeled.

    Args:
        array1: The first array.
        array2: The array appended to it.

    Returns:
        The elements of `array1` followed by those of `array2`.
    """
    like = batched(array1) or batched(array2)
    if like is not None:
        # A cube view joined with a view or a list built in the callback (e.g. from
        # array_create): one array per cell, as apply_dimension expects.
        first, second = as_view(array1, like), as_view(array2, like)
        parts = [first.data, second.data]
        if first.labels is None or second.labels is None:
            parts = [p.drop_vars(like.dim, errors="ignore") for p in parts]
        elif set(first.labels) & set(second.labels):
            raise _error("array_concat", "array2", "labels overlap", "ArrayLabelConflict")
        return first.with_data(xr.concat(parts, dim=like.dim))
    values1, labels1 = items(array1)
    values2, labels2 = items(array2)
    if labels1 is not None and labels2 is not None:
        if set(labels1) & set(labels2):
            raise _error("array_concat", "array2", "labels overlap", "ArrayLabelConflict")
        return rebuild(values1 + values2, labels1 + labels2)
    return values1 + values2


@process(
    "array_append",
    categories=_ARRAYS,
    exceptions={
        "LabelExists": "The label is already in the array.",
        "ArrayNotLabeled": "Labels can only be given for labeled arrays.",
    },
)
def array_append(data: AnyArray, value: AnyValue, label: LabelOrNull = None) -> ArrayOut:
    """Add one element at the end of an array.

    Args:
        data: The array.
        value: The element to add.
        label: Its label, for labeled arrays.

    Returns:
        The longer array.
    """
    view = batched(data)
    if view is not None:
        extra = (
            value
            if isinstance(value, xr.DataArray)
            else xr.full_like(view.data.isel({view.dim: 0}, drop=True), value)
        )
        extra = extra.expand_dims({view.dim: [label] if label is not None else 1})
        return view.with_data(xr.concat([view.data, extra], dim=view.dim))
    values, labels = items(data)
    if labels is None:
        if label is not None:
            raise _error("array_append", "label", "the array has no labels", "ArrayNotLabeled")
        return [*values, value]
    if label is None:
        label = len(values)  # an unlabeled element of a labeled array is labeled by position
    if label in labels:
        raise _error("array_append", "label", f"{label!r} exists", "LabelExists")
    return rebuild([*values, value], [*labels, label])


@process(
    "array_modify",
    categories=_ARRAYS,
    experimental=True,
    exceptions={
        "ArrayElementNotAvailable": "The index is beyond the end of the array.",
        "ArrayLabelConflict": "A label would appear twice.",
    },
)
def array_modify(
    data: AnyArray,
    values: AnyArray,
    index: Integer,
    length: Integer = 0,
) -> ArrayOut:
    """Replace, insert or remove elements at a position.

    Args:
        data: The array to modify.
        values: Elements to put in place of the removed ones.
        index: Position of the first element to replace.
        length: How many elements to remove; 0 (the default) inserts.

    Returns:
        The modified array.
    """
    old, labels = items(data)
    new, new_labels = items(values)
    if index > len(old):
        raise _error("array_modify", "index", "beyond the end", "ArrayElementNotAvailable")
    merged = old[:index] + new + old[index + length :]
    if labels is None:
        return merged
    inserted = new_labels if new_labels is not None else [None] * len(new)
    merged_labels = labels[:index] + inserted + labels[index + length :]
    if len(set(map(repr, merged_labels))) != len(merged_labels):
        raise _error("array_modify", "values", "duplicate labels", "ArrayLabelConflict")
    return rebuild(merged, merged_labels)


@process("rearrange", categories=("arrays", "sorting"))
def rearrange(
    data: AnyArray,
    order: Annotated[Any, Param({"type": "array", "items": {"type": "integer", "minimum": 0}})],
) -> ArrayOut:
    """Pick elements in a given order (typically the output of `order`).

    Args:
        data: The array.
        order: Indices of the elements to take, in the wanted order.

    Returns:
        The rearranged array, labels following their elements.
    """
    if isinstance(data, LabeledArray):
        return data.with_data(data.data.isel({data.dim: list(order)}))
    values = list(data)
    return [values[i] for i in order]


@process("array_apply", categories=_ARRAYS)
def array_apply(
    data: AnyArray,
    process: Annotated[Callback, Param(callback_schema(_ELEMENT_PARAMS, {}, "The new value."))],
    context: Context = None,
) -> ArrayOut:
    """Transform every element of an array with a process.

    On a cube view the process runs once for the whole view: `x` is the data, `index`
    and `label` are arrays along the dimension.

    Args:
        data: The array.
        process: Computes the new value from `x`, `index`, `label` and `context`.
        context: Extra data passed to the process.

    Returns:
        An array of the same length (and labels).
    """
    if isinstance(data, LabeledArray):
        dim = data.dim
        index = xr.DataArray(np.arange(data.size), dims=[dim])
        label = data.data[dim] if dim in data.data.coords else None
        out = process(x=data.data, index=index, label=label, context=context)
        if batched(data) is not None or not isinstance(out, xr.DataArray):
            out = out if isinstance(out, xr.DataArray) else xr.full_like(data.data, out)
            return data.with_data(out.broadcast_like(data.data).transpose(*data.data.dims))
        return data.with_data(out)
    values = list(data)
    return [process(x=v, index=i, label=None, context=context) for i, v in enumerate(values)]


@process("array_filter", categories=_ARRAYS)
def array_filter(
    data: AnyArray,
    condition: Annotated[
        Callback,
        Param(callback_schema(_ELEMENT_PARAMS, {"type": "boolean"}, "True to keep the element.")),
    ],
    context: Context = None,
) -> ArrayOut:
    """Keep the elements for which a condition is true.

    Args:
        data: The array.
        condition: Decides from `x`, `index`, `label` and `context` whether to keep `x`.
        context: Extra data passed to the condition.

    Returns:
        The kept elements, in order, with their labels.
    """
    if batched(data) is not None:
        raise FeatureUnsupported(
            feature="array_filter over a cube dimension (use filter_labels or mask instead)"
        )
    values, labels = items(data)
    keep = [
        i
        for i, v in enumerate(values)
        if condition(x=v, index=i, label=labels[i] if labels else None, context=context) is True
    ]
    return rebuild([values[i] for i in keep], [labels[i] for i in keep] if labels else None)


def _interpolate(values: list[Any], positions: list[float]) -> list[Any]:
    """Fill interior gaps linearly; ends stay as they are. Weighted so infinities survive."""
    valid = [i for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    out = list(values)
    for left, right in itertools.pairwise(valid):
        for i in range(left + 1, right):
            w = (positions[i] - positions[left]) / (positions[right] - positions[left])
            a, b = values[left], values[right]
            out[i] = a if w == 0 else (1 - w) * a + w * b
    return out


@process("array_interpolate_linear", categories=("arrays", "math", "math > interpolation"))
def array_interpolate_linear(data: NumberArray) -> Annotated[Any, Param(NUMBER_ARRAY)]:
    """Fill gaps (null or NaN) between valid numbers by linear interpolation.

    Positions are numeric labels when the array has them, else indices; leading and
    trailing gaps are not filled.

    Args:
        data: Numbers with gaps.

    Returns:
        The array with interior gaps filled.
    """
    view = batched(data)
    if view is not None:
        array = view.numeric()
        if array.chunks is not None:
            array = array.chunk({view.dim: -1})
        coordinate = view.dim in array.coords and array[view.dim].dtype.kind in "iufM"
        return view.with_data(
            array.interpolate_na(view.dim, method="linear", use_coordinate=coordinate)
        )
    values, labels = items(data)
    numeric_labels = labels is not None and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels
    )
    positions = (
        [float(v) for v in labels]
        if numeric_labels and labels
        else list(map(float, range(len(values))))
    )
    return rebuild(_interpolate(values, positions), labels)

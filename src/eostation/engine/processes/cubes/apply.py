"""Callbacks over cubes: ``apply``, ``reduce_dimension`` and ``apply_dimension``.

Every callback runs once for the whole cube (see :mod:`eostation.engine.evaluate`):
``apply`` hands it the cube as ``x``; ``reduce_dimension`` and ``apply_dimension`` hand
it a :class:`~eostation.engine.labeled.LabeledArray` view along the dimension.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import (
    carry_metadata,
    dimension_type,
    ensure_cube,
    keep_all_dates_together,
    label_values,
    require_dimension,
    with_dimension_type,
)
from eostation.engine.fused import fused_callback
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes.schemas import CUBE, Cube
from eostation.engine.registry import process
from eostation.engine.schema import LABELED_ARRAY, Context, Param, callback_schema, cb_param
from eostation.errors import ProcessParameterInvalid

__all__ = ["apply", "apply_dimension", "reduce_dimension"]

_CONTEXT = cb_param("context", "Extra data passed to the process.", {}, default=None)
_REDUCER = callback_schema(
    [cb_param("data", "The values along the dimension.", LABELED_ARRAY), _CONTEXT],
    {},
    "The single value that replaces the values along the dimension.",
)
_UNARY = callback_schema(
    [cb_param("x", "A value of the cube.", {}), _CONTEXT], {}, "The new value."
)
_DIMENSION_PROCESS = callback_schema(
    [cb_param("data", "The values along the dimension.", LABELED_ARRAY), _CONTEXT],
    {"type": "array", "items": {}},
    "The new values along the dimension.",
)
CubeOut = Annotated[Any, Param(CUBE)]


def _unwrap(value: Any) -> Any:
    return value.data if isinstance(value, LabeledArray) else value


def _broadcast(value: Any, like: xr.DataArray) -> xr.DataArray:
    """A callback result as a cube shaped like ``like`` (scalars fill every cell)."""
    value = _unwrap(value)
    if isinstance(value, xr.DataArray):
        return value
    if value is None:
        value = np.nan
    if isinstance(value, (bool, int, float, str, np.generic)):
        filled: xr.DataArray = xr.full_like(like, value, dtype=np.asarray(value).dtype)
        return filled
    raise ProcessParameterInvalid(
        process="(callback)",
        parameter="process",
        reason=f"the callback returned a {type(value).__name__}, expected a value per cell.",
    )


@process("apply", categories=("cubes",))
def apply(
    data: Cube,
    process_: Annotated[Callback, Param(_UNARY)],
    context: Context = None,
) -> CubeOut:
    """Run a process on every value of a cube.

    The process receives the whole cube as `x` at once and works element-wise; the
    dimensions, labels and grid are kept.

    Args:
        data: A data cube.
        process: Computes a new value from a value `x` (and `context`).
        context: Extra data passed to the process.

    Returns:
        A cube with the same dimensions and labels holding the computed values.
    """
    cube = ensure_cube(data, "apply")

    def ordinary(block: xr.DataArray) -> xr.DataArray:
        return _broadcast(process_(x=block, context=context), block).transpose(*block.dims)

    fused = fused_callback(cube, process_, ordinary)
    if fused is not None:
        return carry_metadata(fused, cube)
    out = _broadcast(process_(x=cube, context=context), cube)
    if set(out.dims) != set(cube.dims):
        raise ProcessParameterInvalid(
            process="apply",
            parameter="process",
            reason=f"the process changed the dimensions {cube.dims} into {out.dims}.",
        )
    return carry_metadata(out.transpose(*cube.dims), cube)


@process(
    "reduce_dimension",
    categories=("cubes", "reducer"),
    exceptions={"DimensionNotAvailable": "The dimension does not exist."},
)
def reduce_dimension(
    data: Cube,
    reducer: Annotated[Callback, Param(_REDUCER)],
    dimension: str,
    context: Context = None,
) -> CubeOut:
    """Reduce a dimension to a single value per position with a reducer.

    The reducer (e.g. `mean`, `max`, or a small graph of `array_element` and
    arithmetic) sees the values along the dimension as a labeled array and runs once
    for the whole cube. The dimension is dropped; everything else stays.

    Args:
        data: A data cube.
        reducer: Turns the labeled array of values along `dimension` into one value.
        dimension: The dimension to reduce.
        context: Extra data passed to the reducer.

    Returns:
        The cube without `dimension`.
    """
    cube = ensure_cube(data, "reduce_dimension")
    require_dimension(cube, dimension)

    def ordinary(block: xr.DataArray) -> xr.DataArray:
        value = reducer(data=LabeledArray(block, dimension), context=context)
        template = block.isel({dimension: 0}, drop=True)
        return _broadcast(value, template).transpose(*template.dims)

    fused = fused_callback(cube, reducer, ordinary, dimension=dimension)
    if fused is not None:
        return carry_metadata(fused, cube)
    merged = keep_all_dates_together(cube, [dimension])
    view = LabeledArray(merged, dimension, unmerged=None if merged is cube else cube)
    value = reducer(data=view, context=context)
    template = cube.isel({dimension: 0}, drop=True)
    out = _broadcast(value, template)
    if dimension in out.dims:
        raise ProcessParameterInvalid(
            process="reduce_dimension",
            parameter="reducer",
            reason=f"the reducer returned several values per position along '{dimension}'.",
        )
    if dimension in out.coords:
        out = out.drop_vars(dimension)
    order = [d for d in cube.dims if d != dimension and d in out.dims]
    extra = [d for d in out.dims if d not in order]
    return carry_metadata(out.transpose(*order, *extra), cube)


def _stack(values: list[Any], dim: str, like: xr.DataArray) -> xr.DataArray:
    """Per-position results (a Python list of arrays or scalars) stacked along ``dim``."""
    arrays = [_broadcast(v, like) for v in values]
    return xr.concat(arrays, dim=dim, coords="minimal", compat="override", join="override")


@process(
    "apply_dimension",
    categories=("cubes",),
    exceptions={"DimensionNotAvailable": "The dimension does not exist."},
)
def apply_dimension(
    data: Cube,
    process_: Annotated[Callback, Param(_DIMENSION_PROCESS)],
    dimension: str,
    target_dimension: str | None = None,
    context: Context = None,
) -> CubeOut:
    """Compute new values along a dimension from all the values along it.

    The process sees the values along `dimension` as a labeled array (once for the
    whole cube) and returns an array, possibly of another length. Without
    `target_dimension` the results replace the dimension's values; its labels stay when
    the length is unchanged and become 0, 1, ... otherwise. With `target_dimension` the
    source dimension is removed and the results form the target dimension (type
    `other` when new) labeled 0, 1, ...

    Args:
        data: A data cube.
        process: Computes the new values along the dimension.
        dimension: The dimension whose values the process receives.
        target_dimension: Where the results go; null keeps them in `dimension`.
        context: Extra data passed to the process.

    Returns:
        The cube with the computed values.
    """
    cube = ensure_cube(data, "apply_dimension")
    require_dimension(cube, dimension)
    cube = keep_all_dates_together(cube, [dimension])
    value = process_(data=LabeledArray(cube, dimension), context=context)
    if isinstance(value, LabeledArray) and value.own_labels and target_dimension is None:
        return _with_own_labels(value.data, cube, dimension)
    template = cube.isel({dimension: 0}, drop=True)
    if isinstance(value, list):
        out = _stack(value, dimension, template)
    else:
        out = _broadcast(value, cube)
        if dimension not in out.dims:
            out = out.expand_dims(dimension)
    if dimension in out.coords and out.sizes[dimension] != cube.sizes[dimension]:
        out = out.drop_vars(dimension)
    keep_labels = (
        target_dimension in (None, dimension) and out.sizes[dimension] == cube.sizes[dimension]
    )
    source_type = dimension_type(cube, dimension)
    if keep_labels:
        out = out.assign_coords({dimension: label_values(cube, dimension)})
        if dimension in cube.coords:
            out[dimension].attrs = dict(cube[dimension].attrs)
    else:
        out = out.drop_vars(dimension, errors="ignore")
        out = out.assign_coords({dimension: np.arange(out.sizes[dimension])})
    order = [d for d in cube.dims if d in out.dims] + [d for d in out.dims if d not in cube.dims]
    out = out.transpose(*order)
    if target_dimension is not None and target_dimension != dimension:
        target_type = "other"
        if target_dimension in out.dims:
            # The spec's case 2: a target with a single label is filled with the results
            # and keeps its name and type; with more labels the spec defines nothing.
            if out.sizes[target_dimension] != 1:
                raise ProcessParameterInvalid(
                    process="apply_dimension",
                    parameter="target_dimension",
                    reason=f"'{target_dimension}' already exists with "
                    f"{out.sizes[target_dimension]} labels; the results can only replace a "
                    "target dimension with a single label (reduce or drop it first).",
                )
            target_type = dimension_type(cube, target_dimension)
            out = out.isel({target_dimension: 0}, drop=True)
        out = out.rename({dimension: target_dimension})
        out = with_dimension_type(out, target_dimension, target_type)
    elif not keep_labels and source_type != "other":
        out = with_dimension_type(out, dimension, source_type)
    return carry_metadata(out, cube)


def _with_own_labels(out: xr.DataArray, cube: xr.DataArray, dimension: str) -> xr.DataArray:
    """A UDF's result along ``dimension`` with the labels it chose (other dims may change too)."""
    kind = dimension_type(cube, dimension)
    values = np.asarray(out.coords[dimension].values)
    if kind == "temporal" and values.dtype.kind not in "M":
        # Labels given as text (ISO dates): the temporal dimension holds datetimes.
        times = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).tz_localize(None)
        out = out.assign_coords({dimension: times.to_numpy()})
    order = [d for d in cube.dims if d in out.dims] + [d for d in out.dims if d not in cube.dims]
    # The grid (odc-geo's scalar spatial_ref) stays the cube's when the UDF drops it.
    grid = {k: v for k, v in cube.coords.items() if v.ndim == 0 and k not in out.coords}
    out = with_dimension_type(out.transpose(*order).assign_coords(grid), dimension, kind)
    return carry_metadata(out, cube)

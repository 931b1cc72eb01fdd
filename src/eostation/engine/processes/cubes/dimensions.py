"""Dimensions and their labels: add, drop, rename, relabel, list, trim, create."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr
from dask.base import compute

from eostation.engine.cube import (
    carry_metadata,
    dimension_type,
    ensure_cube,
    label_values,
    labels,
    require_dimension,
    to_datetime_labels,
    with_dimension_type,
)
from eostation.engine.processes.cubes.schemas import CUBE, Cube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import (
    DimensionExists,
    DimensionLabelCountMismatch,
    LabelExists,
    LabelMismatch,
    LabelNotAvailable,
    LabelsNotEnumerated,
)

__all__ = [
    "add_dimension",
    "create_data_cube",
    "dimension_labels",
    "drop_dimension",
    "rename_dimension",
    "rename_labels",
    "trim_cube",
]

_CUBES = ("cubes",)
CubeOut = Annotated[Any, Param(CUBE)]
Label = Annotated[Any, Param([{"type": "number"}, {"type": "string"}])]
LabelList = Annotated[
    Any, Param({"type": "array", "uniqueItems": True, "items": {"type": ["number", "string"]}})
]


@process(
    "add_dimension",
    categories=_CUBES,
    exceptions={"DimensionExists": "A dimension of that name exists."},
)
def add_dimension(
    data: Cube,
    name: str,
    label: Label,
    type_: Annotated[
        str,
        Param({"type": "string", "enum": ["bands", "geometry", "spatial", "temporal", "other"]}),
    ] = "other",
) -> CubeOut:
    """Add a dimension with a single label in front of the others.

    Args:
        data: A data cube.
        name: The name of the new dimension.
        label: Its only label (a date or date-time for a temporal dimension).
        type: The dimension type: `bands`, `geometry`, `spatial`, `temporal` or `other`.

    Returns:
        The cube with one more dimension; the values are unchanged.
    """
    cube = ensure_cube(data, "add_dimension")
    if name in cube.dims:
        raise DimensionExists(dimension=name)
    value: Any = to_datetime_labels([label]) if type_ == "temporal" else np.asarray([label])
    out = cube.expand_dims({name: value})
    return carry_metadata(with_dimension_type(out, name, type_), cube)


@process(
    "drop_dimension",
    categories=_CUBES,
    exceptions={
        "DimensionLabelCountMismatch": "The dimension has more than one label.",
        "DimensionNotAvailable": "The dimension does not exist.",
    },
)
def drop_dimension(data: Cube, name: str) -> CubeOut:
    """Remove a dimension that has exactly one label.

    Args:
        data: A data cube.
        name: The dimension to remove; reduce it first when it has several labels.

    Returns:
        The cube without that dimension.
    """
    cube = ensure_cube(data, "drop_dimension")
    require_dimension(cube, name)
    if cube.sizes[name] != 1:
        raise DimensionLabelCountMismatch(dimension=name, count=cube.sizes[name])
    return carry_metadata(cube.isel({name: 0}, drop=True), cube)


@process(
    "rename_dimension",
    categories=_CUBES,
    exceptions={
        "DimensionNotAvailable": "The source dimension does not exist.",
        "DimensionExists": "The target name is taken.",
    },
)
def rename_dimension(data: Cube, source: str, target: str) -> CubeOut:
    """Give a dimension another name; its type, labels and values stay.

    Args:
        data: A data cube.
        source: The current name.
        target: The new name, not used by another dimension.

    Returns:
        The cube with the dimension renamed.
    """
    cube = ensure_cube(data, "rename_dimension")
    require_dimension(cube, source)
    if target in cube.dims:
        raise DimensionExists(dimension=target)
    kind = dimension_type(cube, source)
    typed = with_dimension_type(cube, source, kind)
    return carry_metadata(typed.rename({source: target}), cube)


def _enumerated(values: np.ndarray) -> bool:
    return values.dtype.kind in "iu" and np.array_equal(values, np.arange(values.size))


@process(
    "rename_labels",
    categories=_CUBES,
    exceptions={
        "LabelsNotEnumerated": "Without source labels the labels must be 0, 1, 2, ...",
        "LabelMismatch": "Source and target differ in length.",
        "LabelNotAvailable": "A source label does not exist.",
        "LabelExists": "A target label exists already.",
    },
)
def rename_labels(
    data: Cube,
    dimension: str,
    target: LabelList,
    source: LabelList = [],  # noqa: B006 - published default, never mutated
) -> CubeOut:
    """Rename labels of a dimension; the order of labels and data stays.

    With `source`, each source label becomes the target label at the same position (a
    subset of labels may be renamed). Without it, the labels must be enumerated
    (0, 1, 2, ...) and label `i` becomes `target[i]`.

    Args:
        data: A data cube.
        dimension: The dimension whose labels change.
        target: The new labels.
        source: The labels to rename, in the order of `target`.

    Returns:
        The cube with renamed labels.
    """
    cube = ensure_cube(data, "rename_labels")
    require_dimension(cube, dimension)
    current = label_values(cube, dimension)
    temporal = np.issubdtype(current.dtype, np.datetime64)
    if temporal:
        # Date labels are compared as instants, whatever the spelling of the source
        # (dimension_labels gives "2020-01-01T00:00:00Z"; "2020-01-01" names it too).
        names: list[Any] = labels(cube, dimension)
        source = [_instant(v) for v in source]
    else:
        names = [v.item() if isinstance(v, np.generic) else v for v in current]
    if not source:
        if not _enumerated(current):
            raise LabelsNotEnumerated(dimension=dimension)
        if len(target) > len(names):
            raise LabelMismatch(source=len(names), target=len(target))
        source = names[: len(target)]
    if len(source) != len(target):
        raise LabelMismatch(source=len(source), target=len(target))
    for label in source:
        if label not in names:
            raise LabelNotAvailable(dimension=dimension, label=label)
    untouched = [n for n in names if n not in source]
    for label in target:
        if label in untouched:
            raise LabelExists(dimension=dimension, label=label)
    mapping = dict(zip(source, target, strict=True))
    renamed = [mapping.get(n, n) for n in names]
    mixed = len({type(v) for v in renamed}) > 1
    values = np.asarray(renamed, dtype=object if mixed else None)
    if temporal and all(_as_date(v) is not None for v in renamed):
        values = to_datetime_labels(renamed)  # still a time axis
    coord = xr.DataArray(values, dims=(dimension,))
    if dimension in cube.coords:
        coord.attrs = dict(cube[dimension].attrs)
    return carry_metadata(cube.assign_coords({dimension: coord}), cube)


def _as_date(label: Any) -> str | None:
    """A date label as ``YYYY-MM-DDTHH:MM:SSZ``, or None when it is no date."""
    if not isinstance(label, str):
        return None
    try:
        [value] = to_datetime_labels([label])
    except (ValueError, TypeError, OverflowError):
        return None
    return str(pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _instant(label: Any) -> Any:
    """A date label spelled as dimension_labels spells it (other labels unchanged)."""
    return _as_date(label) or label


@process(
    "dimension_labels",
    categories=_CUBES,
    exceptions={"DimensionNotAvailable": "The dimension does not exist."},
)
def dimension_labels(
    data: Cube, dimension: str
) -> Annotated[Any, Param({"type": "array", "items": {"type": ["number", "string"]}})]:
    """The labels of a dimension, in order.

    Args:
        data: A data cube.
        dimension: The dimension whose labels are wanted.

    Returns:
        The labels; times as RFC 3339 date-time strings.
    """
    return labels(ensure_cube(data, "dimension_labels"), dimension)


@process("trim_cube", categories=_CUBES)
def trim_cube(data: Cube) -> CubeOut:
    """Cut away, at both ends of every dimension, the slices that hold only nulls.

    The labels kept depend on the data, so this computes which slices hold a value
    (one pass over the cube, all dimensions at once); the result stays lazy.

    Args:
        data: A data cube (raster or vector).

    Returns:
        The smallest cube that still holds every non-null value.
    """
    cube = ensure_cube(data, "trim_cube")
    if cube.size == 0 or cube.ndim == 0:
        return cube
    valid = cube.notnull()
    if "nodata" in cube.attrs and cube.dtype.kind in "iu":
        valid = valid & (cube != cube.attrs["nodata"])
    per_dim = [valid.any([d for d in cube.dims if d != dim]) for dim in cube.dims]
    found = compute(*[p.data for p in per_dim])
    selection: dict[Any, slice] = {}
    for dim, flags in zip(cube.dims, found, strict=True):
        hits = np.flatnonzero(np.asarray(flags))
        selection[dim] = slice(int(hits[0]), int(hits[-1]) + 1) if hits.size else slice(0, 0)
    return cube.isel(selection)


@process("create_data_cube", categories=_CUBES)
def create_data_cube() -> CubeOut:
    """Create a data cube without dimensions and values, to build on with `add_dimension`.

    Returns:
        An empty data cube.
    """
    return xr.DataArray(np.float64(np.nan))

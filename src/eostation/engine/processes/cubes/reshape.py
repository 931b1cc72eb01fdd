"""Reshaping dimensions: ``flatten_dimensions`` and ``unflatten_dimension``.

Flattening lays several dimensions out along one new dimension of type ``other``, the
first named dimension varying slowest, and joins their labels with a separator
(``2020~B1``). Unflattening splits the labels again and spreads the values over the new
dimensions by vectorised indexing, so both stay lazy on dask cubes.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.cube import (
    carry_metadata,
    ensure_cube,
    labels,
    require_dimension,
    with_dimension_type,
)
from eostation.engine.processes.cubes.schemas import CUBE, Cube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid, TargetDimensionExists

__all__ = ["flatten_dimensions", "unflatten_dimension"]

_EXCEPTIONS = {
    "DimensionNotAvailable": "A named dimension does not exist.",
    "TargetDimensionExists": "A target dimension name is already taken.",
}
_SEPARATOR = Annotated[str, Param({"type": "string", "minLength": 1})]
CubeOut = Annotated[Any, Param(CUBE)]


def _label_text(value: Any) -> str:
    """A label as text: times in RFC 3339, integral floats without ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@process("flatten_dimensions", categories=("cubes",), exceptions=_EXCEPTIONS, experimental=True)
def flatten_dimensions(
    data: Cube,
    dimensions: Annotated[
        list[str], Param({"type": "array", "uniqueItems": True, "items": {"type": "string"}})
    ],
    target_dimension: str,
    label_separator: _SEPARATOR = "~",
) -> CubeOut:
    """Combine several dimensions into one.

    The values are laid out with the first of `dimensions` varying slowest, so
    dimensions `A` (`2020`, `2021`) and `B` (`B1`, `B2`) become one dimension with the
    labels `2020~B1`, `2020~B2`, `2021~B1`, `2021~B2`. Labels are converted to strings
    (times in RFC 3339). The new dimension has the type `other` and takes the place of
    the first of `dimensions`; all other dimensions stay as they are.

    Args:
        data: A data cube.
        dimensions: The dimensions to combine, slowest varying first.
        target_dimension: The name of the new dimension; it must not exist yet.
        label_separator: Joins the labels of the combined dimensions.

    Returns:
        The cube with the combined dimension.
    """
    cube = ensure_cube(data, "flatten_dimensions")
    if not dimensions:
        raise ProcessParameterInvalid(
            process="flatten_dimensions",
            parameter="dimensions",
            reason="name at least one dimension to flatten",
        )
    for name in dimensions:
        require_dimension(cube, name)
    if target_dimension in cube.dims:
        raise TargetDimensionExists(dimension=target_dimension)
    texts = [[_label_text(v) for v in labels(cube, d)] for d in dimensions]
    joined = [""]
    for part in texts:
        joined = [
            f"{head}{label_separator}{tail}" if head else tail for head in joined for tail in part
        ]
    place = min(list(cube.dims).index(d) for d in dimensions)
    others = [d for d in cube.dims if d not in dimensions]
    order = [*others[:place], target_dimension, *others[place:]]
    dropped = cube.drop_vars([d for d in dimensions if d in cube.coords])
    flat = dropped.stack({target_dimension: list(dimensions)}, create_index=False)
    flat = flat.assign_coords({target_dimension: np.asarray(joined, dtype=object)})
    flat = with_dimension_type(flat.transpose(*order), target_dimension, "other")
    return carry_metadata(flat, cube)


@process("unflatten_dimension", categories=("cubes",), exceptions=_EXCEPTIONS, experimental=True)
def unflatten_dimension(
    data: Cube,
    dimension: str,
    target_dimensions: Annotated[
        list[str],
        Param({"type": "array", "uniqueItems": True, "minItems": 2, "items": {"type": "string"}}),
    ],
    label_separator: _SEPARATOR = "~",
) -> CubeOut:
    """Split one dimension into several by splitting its labels.

    Each label must contain the separator once less than there are target dimensions
    (`2020~B1` for two). The parts, in order of first appearance, become the string labels
    of the new dimensions (type `other`), which take the place of `dimension` in the given
    order. A combination of parts that no label has is no-data; two labels with the same
    parts are an error. Reusing the name of the split dimension for a target is allowed,
    since that dimension disappears.

    Args:
        data: A data cube.
        dimension: The dimension to split.
        target_dimensions: The names of the new dimensions, at least two.
        label_separator: Splits the labels of `dimension`.

    Returns:
        The cube with `dimension` replaced by the target dimensions.
    """
    cube = ensure_cube(data, "unflatten_dimension")
    require_dimension(cube, dimension)
    for name in target_dimensions:
        if name in cube.dims and name != dimension:
            raise TargetDimensionExists(dimension=name)
    parts = [_label_text(v).split(label_separator) for v in labels(cube, dimension)]
    if any(len(p) != len(target_dimensions) for p in parts):
        raise ProcessParameterInvalid(
            process="unflatten_dimension",
            parameter="label_separator",
            reason=f"every label of '{dimension}' must hold '{label_separator}' exactly "
            f"{len(target_dimensions) - 1} time(s)",
        )
    axes = [list(dict.fromkeys(p[i] for p in parts)) for i in range(len(target_dimensions))]
    position = np.full([len(a) for a in axes], -1, dtype=np.int64)
    for source, label_parts in enumerate(parts):
        where = tuple(axes[i].index(v) for i, v in enumerate(label_parts))
        if position[where] >= 0:
            raise ProcessParameterInvalid(
                process="unflatten_dimension",
                parameter="data",
                reason=f"two labels of '{dimension}' split into {label_parts}",
            )
        position[where] = source
    indexer = xr.DataArray(np.maximum(position, 0), dims=list(target_dimensions))
    spread = cube.drop_vars(dimension, errors="ignore").isel({dimension: indexer})
    if (position < 0).any():
        spread = spread.where(xr.DataArray(position >= 0, dims=list(target_dimensions)))
    place = list(cube.dims).index(dimension)
    others = [d for d in cube.dims if d != dimension]
    spread = spread.transpose(*others[:place], *target_dimensions, *others[place:])
    spread = spread.assign_coords(
        {
            name: np.asarray(axis, dtype=object)
            for name, axis in zip(target_dimensions, axes, strict=True)
        }
    )
    for name in target_dimensions:
        spread = with_dimension_type(spread, name, "other")
    return carry_metadata(spread, cube)

"""``aggregate_spatial_window``: non-overlapping pixel blocks reduced with one vectorised
callback call over a window axis."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from eostation.engine.context import Callback
from eostation.engine.cube import label_values, spatial_dims
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes.schemas import RasterCube
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param

__all__ = ["aggregate_spatial_window"]


_WINDOW_REDUCER = Annotated[
    Callback,
    Param(
        callback_schema(
            [
                cb_param("data", "The values of one window.", {"type": "array", "items": {}}),
                cb_param("context", "The `context` argument.", {}, default=None),
            ],
            {},
            "The value for the window.",
        )
    ),
]


@process("aggregate_spatial_window", categories=("cubes", "aggregate"), experimental=True)
def aggregate_spatial_window(
    data: RasterCube,
    reducer: _WINDOW_REDUCER,
    size: Annotated[
        list[int],
        Param(
            {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "integer", "minimum": 1},
            }
        ),
    ],
    boundary: Annotated[str, Param({"type": "string", "enum": ["pad", "trim"]})] = "pad",
    align: Annotated[
        str,
        Param(
            {"type": "string", "enum": ["lower-left", "upper-left", "lower-right", "upper-right"]}
        ),
    ] = "upper-left",
    context: Context = None,
) -> RasterCube:
    """Reduce non-overlapping windows of pixels to one value each (block statistics).

    Windows are anchored at the corner named by `align`; at the opposite edges the cube
    is padded with no-data (`pad`) or the incomplete windows are dropped (`trim`). The
    new pixel coordinates are the window centres.

    Args:
        data: A raster cube.
        reducer: Reduces the values of one window to one value, e.g. `mean`.
        size: Window size in pixels: along `x`, then along `y`.
        boundary: `pad` incomplete windows with no-data, or `trim` them away.
        align: The corner the windows start from.
        context: Passed on to the reducer.

    Returns:
        The cube on the coarser grid.
    """
    ydim, xdim = spatial_dims(data)
    sx, sy = int(size[0]), int(size[1])
    side_x = "right" if align.endswith("right") else "left"
    side_y = "right" if align.startswith("lower") else "left"
    ys, xs = label_values(data, ydim).astype(float), label_values(data, xdim).astype(float)
    windows = (
        data.drop_vars([ydim, xdim], errors="ignore")
        .coarsen({ydim: sy, xdim: sx}, boundary=boundary, side={ydim: side_y, xdim: side_x})
        .construct({ydim: (ydim, "__wy"), xdim: (xdim, "__wx")})
    )
    stacked = windows.stack(__window=("__wy", "__wx")).drop_vars(
        ["__window", "__wy", "__wx"], errors="ignore"
    )
    value = reducer(data=LabeledArray(stacked, "__window"), context=context)
    if isinstance(value, LabeledArray):
        value = value.data
    return (
        value.assign_coords(
            {
                ydim: _centres(ys, sy, windows.sizes[ydim], side_y, boundary),
                xdim: _centres(xs, sx, windows.sizes[xdim], side_x, boundary),
            }
        )
        .transpose(*data.dims)
        .assign_attrs(data.attrs)
    )


def _centres(coords: np.ndarray, size: int, count: int, side: str, boundary: str) -> np.ndarray:
    """Window centres; windows align with the ``side`` end, the other end is cut/padded."""
    step = coords[1] - coords[0] if coords.size > 1 else 1.0
    rest = coords.size % size
    first = coords[0]
    if side == "right" and rest:
        first = coords[rest] if boundary == "trim" else coords[0] - step * (size - rest)
    centres: np.ndarray = first + step * (np.arange(count) * size + (size - 1) / 2)
    return centres

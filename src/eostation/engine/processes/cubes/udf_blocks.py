"""A UDF along a dimension, run on spatial blocks of the cube rather than on all of it.

``apply_dimension`` and ``reduce_dimension`` hand their callback the whole cube; a UDF
in it then received every pixel at once and, on a 10 × 10 km EFAST case, ran out of its
memory limit (a composite UDF builds a target-dates × dates array per pixel). The
values along a non-spatial dimension belong to one pixel each, so the cube can be cut
into blocks of pixels, each handed to the UDF separately, and the results put back
together, as CDSE runs such UDFs per tile. Blocks are sized from the UDF memory limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import xarray as xr

from eostation.engine.cube import spatial_dims
from eostation.errors import DimensionMissing, ProcessParameterInvalid

__all__ = ["block_side", "in_blocks"]

_SHARE = 64
"""A block's input may use 1/64 of the UDF memory limit: UDFs hold several arrays of
their input's size and larger intermediates (EFAST's composite: dates × targets)."""


def block_side(cube: xr.DataArray, memory_mb: int) -> int | None:
    """Pixels per block side so that one block stays within its share of ``memory_mb``;
    None when the whole cube does (or it has no grid)."""
    try:
        ydim, xdim = spatial_dims(cube)
    except DimensionMissing:
        return None
    budget = memory_mb * 1024 * 1024 / _SHARE
    if cube.nbytes <= budget:
        return None
    per_pixel = max(cube.nbytes / (cube.sizes[ydim] * cube.sizes[xdim]), 1.0)
    return max(16, math.isqrt(int(budget / per_pixel)))


def in_blocks(
    cube: xr.DataArray, dim: str, memory_mb: int, call: Callable[[xr.DataArray], Any]
) -> Any:
    """``call`` on ``cube`` (computed), block by block when it is too large for one call.

    ``dim`` is the dimension the UDF works along; a spatial one is never split. Each
    block's result must be a cube with the block's grid; the blocks are joined again.
    """
    side = block_side(cube, memory_mb)
    if side is None:
        return call(cube)
    ydim, xdim = spatial_dims(cube)
    if dim in (ydim, xdim):
        return call(cube)
    rows = []
    for y0 in range(0, cube.sizes[ydim], side):
        row = []
        for x0 in range(0, cube.sizes[xdim], side):
            part = cube.isel({ydim: slice(y0, y0 + side), xdim: slice(x0, x0 + side)})
            out = call(part)
            if not isinstance(out, xr.DataArray) or not {ydim, xdim} <= set(out.dims):
                raise ProcessParameterInvalid(
                    process="run_udf",
                    parameter="udf",
                    reason=f"the UDF along '{dim}' must return a cube with the dimensions "
                    f"'{ydim}' and '{xdim}' (it runs on blocks of pixels)",
                )
            row.append(out.assign_coords({ydim: part[ydim], xdim: part[xdim]}))
        rows.append(row)
    return xr.combine_nested(rows, concat_dim=[ydim, xdim], combine_attrs="override")

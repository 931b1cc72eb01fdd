"""Focal processes: ``apply_kernel`` and ``apply_neighborhood``.

``apply_kernel`` is a weighted sum over each pixel's neighbourhood (scipy.ndimage,
correlation: kernel weights meet the pixels at the same offsets), run per dask chunk
with ``map_overlap`` so that chunk edges see their neighbours; the outer border is
extended as the ``border`` mode asks. ``apply_neighborhood`` hands the callback one
window (plus overlap) at a time as a lazy sub cube and stitches the window interiors
back together (``aggregate_spatial_window`` lives in :mod:`.window`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import dims_of_type, label_values, spatial_dims
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes.schemas import RASTER, RasterCube
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param
from eostation.errors import DimensionNotAvailable, ProcessParameterInvalid

__all__ = ["apply_kernel", "apply_neighborhood"]

_MODES = {"replicate": "nearest", "reflect": "reflect", "reflect_pixel": "mirror", "wrap": "wrap"}
_KERNEL = Annotated[
    list[list[float]],
    Param(
        {
            "type": "array",
            "subtype": "kernel",
            "items": {"type": "array", "items": {"type": "number"}},
        }
    ),
]
_BORDER = Annotated[
    Any,
    Param(
        [
            {"type": "string", "enum": ["replicate", "reflect", "reflect_pixel", "wrap"]},
            {"type": "number"},
        ]
    ),
]
_NUMBER = Annotated[float, Param({"type": "number"})]


def _correlate(block: np.ndarray, weights: np.ndarray, mode: str, cval: float) -> np.ndarray:
    import scipy.ndimage  # here: building the process registry must not import it

    return scipy.ndimage.correlate(block, weights, mode=mode, cval=cval)  # type: ignore[no-any-return]


@process(
    "apply_kernel",
    categories=("cubes", "math > image filter"),
    exceptions={"KernelDimensionsUneven": "Each kernel dimension needs an odd length."},
)
def apply_kernel(
    data: RasterCube,
    kernel: _KERNEL,
    factor: _NUMBER = 1,
    border: _BORDER = 0,
    replace_invalid: _NUMBER = 0,
) -> RasterCube:
    """Weighted focal sum (2-D convolution window) over `x` and `y`, times a factor.

    Each output pixel is the sum of its neighbours multiplied by the kernel weights at
    the same offsets, then multiplied by `factor`. Invalid values (NaN, no-data,
    infinities) count as `replace_invalid`. Beyond the cube's edges the data are
    extended with a constant number or by replicating, reflecting (`fedcba|abc`),
    reflecting about the edge pixel (`gfedcb|abc`) or wrapping around.

    Args:
        data: A raster cube.
        kernel: Weights: rows along `y` (outer level), columns along `x`; each level must
            have an odd length.
        factor: Multiplies the weighted sum.
        border: A number to pad with, or `replicate`, `reflect`, `reflect_pixel`, `wrap`.
        replace_invalid: The value that invalid values are replaced with.

    Returns:
        The filtered cube, with unchanged dimensions.
    """
    weights = np.asarray(kernel, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] % 2 == 0 or weights.shape[1] % 2 == 0:
        raise ProcessParameterInvalid(
            process="apply_kernel",
            parameter="kernel",
            reason=f"a kernel of shape {weights.shape} has an even dimension",
            exception="KernelDimensionsUneven",
        )
    if isinstance(border, str):
        if border not in _MODES:
            raise ProcessParameterInvalid(
                process="apply_kernel", parameter="border", reason=f"unknown mode {border!r}"
            )
        mode, cval = _MODES[border], 0.0
    else:
        mode, cval = "constant", float(border)
    ydim, xdim = spatial_dims(data)
    others = [d for d in data.dims if d not in (ydim, xdim)]
    cube = data.transpose(*others, ydim, xdim)
    clean = cube.astype(np.float64)
    clean = clean.where(np.isfinite(clean), float(replace_invalid))
    full = weights.reshape((1,) * len(others) + weights.shape) * float(factor)
    hy, hx = weights.shape[0] // 2, weights.shape[1] // 2
    if isinstance(clean.data, da.Array):
        depth = {len(others): hy, len(others) + 1: hx}
        filtered = clean.data.map_overlap(
            _correlate, depth=depth, dtype=np.float64,
            # Chunks at the cube's edges extend themselves (scipy's mode), except for wrap.
            boundary="periodic" if mode == "wrap" else "none",
            weights=full, mode=mode, cval=cval,
        )  # fmt: skip
    else:
        filtered = _correlate(np.asarray(clean.data), full, mode, cval)
    out = clean.copy(data=filtered)
    return out.transpose(*data.dims).assign_attrs(data.attrs)


_DURATION = "^(-?)P(?=\\d|T\\d)(?:(\\d+)Y)?(?:(\\d+)M)?(?:(\\d+)([DW]))?(?:T(?:(\\d+)H)?(?:(\\d+)M)?(?:(\\d+(?:\\.\\d+)?)S)?)?$"
_CHUNK_SIZE: dict[str, Any] = {
    "type": "object",
    "subtype": "chunk-size",
    "required": ["dimension", "value"],
    "properties": {
        "dimension": {"type": "string"},
        "value": {
            "default": None,
            "anyOf": [
                {"type": "null"},
                {"type": "number", "minimum": 0},
                {"type": "string", "subtype": "duration", "pattern": _DURATION},
            ],
        },
        "unit": {
            "default": None,
            "anyOf": [{"type": "null"}, {"type": "string", "enum": ["px", "m"]}],
        },
    },
}
_SIZES = Annotated[list[dict[str, Any]], Param({"type": "array", "items": _CHUNK_SIZE})]
_OVERLAPS = Annotated[Any, Param([{"type": "null"}, {"type": "array", "items": _CHUNK_SIZE}])]
_NEIGHBOURHOOD_PROCESS = Annotated[
    Callback,
    Param(
        callback_schema(
            [
                cb_param(
                    "data",
                    "One neighbourhood, overlap included.",
                    [RASTER, {"type": "array", "subtype": "labeled-array"}],
                ),
                cb_param("context", "The `context` argument.", {}, default=None),
            ],
            [RASTER, {"type": "array"}],
            "The processed neighbourhood, same shape.",
        )
    ),
]


def _duration(value: str) -> pd.DateOffset | None:
    """An ISO 8601 duration (``P1D``, ``P1M``, ``PT12H``) as a calendar offset."""
    match = re.match(_DURATION, value)
    if match is None or match.group(1):
        return None
    years, months, count, unit, hours, minutes, seconds = match.groups()[1:]
    days = int(count or 0) * (7 if unit == "W" else 1)
    return pd.DateOffset(
        years=int(years or 0), months=int(months or 0), days=days, hours=int(hours or 0),
        minutes=int(minutes or 0), seconds=float(seconds or 0),
    )  # fmt: skip


def _periods(cube: xr.DataArray, dim: str, offset: pd.DateOffset) -> list[tuple[int, int]]:
    """Index ranges of the labels of ``dim`` that fall into consecutive periods of ``offset``.

    A period starts at the first label not yet covered, so ``P1D`` on daily labels gives
    one label per neighbourhood and empty periods are skipped.
    """
    times = pd.DatetimeIndex(label_values(cube, dim))
    ranges: list[tuple[int, int]] = []
    begin = 0
    while begin < len(times):
        end = int(times.searchsorted(times[begin] + offset, side="left"))
        end = max(end, begin + 1)
        ranges.append((begin, end))
        begin = end
    return ranges


def _ranges(cube: xr.DataArray, entry: dict[str, Any]) -> list[tuple[int, int]] | None:
    """The tiles of one ``size`` entry as index ranges (None: the whole dimension)."""
    dim = str(entry["dimension"])
    value = entry.get("value")
    if isinstance(value, str) and dim in dims_of_type(cube, "temporal"):
        offset = _duration(value)
        if offset is None:
            raise ProcessParameterInvalid(
                process="apply_neighborhood", parameter="size", reason=f"bad value {value!r}"
            )
        return _periods(cube, dim, offset)
    step = _pixels(cube, entry, "size")
    if step is None or step >= cube.sizes[dim]:
        return None
    return [(b, min(b + step, cube.sizes[dim])) for b in range(0, cube.sizes[dim], step)]


def _pixels(cube: xr.DataArray, entry: dict[str, Any], what: str) -> int | None:
    """A size or overlap entry in pixels of its dimension (None: the whole dimension)."""
    dim = str(entry.get("dimension"))
    if dim not in cube.dims:
        raise DimensionNotAvailable(dimension=dim, available=", ".join(map(str, cube.dims)))
    value = entry.get("value")
    if value is None:
        return None
    if isinstance(value, str):
        if re.match(_DURATION, value) and dim in dims_of_type(cube, "temporal"):
            raise ProcessParameterInvalid(
                process="apply_neighborhood",
                parameter=what,
                reason="durations along the temporal dimension are supported for the size "
                "only; give the overlap as a number of labels",
            )
        raise ProcessParameterInvalid(
            process="apply_neighborhood", parameter=what, reason=f"bad value {value!r}"
        )
    unit = entry.get("unit") or "px"
    if unit == "m":
        coords = label_values(cube, dim).astype(float)
        step = abs(coords[1] - coords[0]) if coords.size > 1 else 1.0
        return max(round(float(value) / step), 0 if what == "overlap" else 1)
    return int(value)


@process(
    "apply_neighborhood",
    categories=("cubes",),
    exceptions={
        "DimensionNotAvailable": "A dimension in size or overlap does not exist.",
        "DataCubePropertiesImmutable": "The process changed the neighbourhood's shape.",
    },
)
def apply_neighborhood(
    data: RasterCube,
    process: _NEIGHBOURHOOD_PROCESS,
    size: _SIZES,
    overlap: _OVERLAPS = None,
    context: Context = None,
) -> RasterCube:
    """Run a process on tiles of the cube (neighbourhoods), optionally overlapping.

    The cube is cut into tiles of `size` along the named dimensions (whole along the
    others); each tile is extended by `overlap` on both sides (no-data beyond the cube's
    edges, false for a boolean cube) and given to the process as a cube. Along the
    temporal dimension the size may be a duration (`P1D`: the labels of each day
    separately). The process returns a cube of the same shape; only the tile's interior
    (without overlap) is kept. Labels the process leaves out (a UDF returning a bare
    array) are those of the tile.

    Args:
        data: A raster cube.
        process: Applied to each neighbourhood; returns a cube of the same shape.
        size: Per dimension, the tile size in pixels (`px`) or metres (`m`), or a
            duration along the temporal dimension; null for the whole dimension.
        overlap: Per dimension, how many pixels (or metres) to add on each side.
        context: Passed on to the process.

    Returns:
        A cube with the dimensions of `data`.
    """
    ranges = {str(e["dimension"]): _ranges(data, e) for e in size}
    pads = {str(e["dimension"]): _pixels(data, e, "overlap") or 0 for e in (overlap or [])}
    tiled = [d for d in data.dims if ranges.get(str(d))]
    padded = data
    widths = {d: (pads.get(str(d), 0),) * 2 for d in tiled if pads.get(str(d))}
    if widths:
        # A boolean cube has no no-data value: pad with false (as CDSE pads with zeros).
        fill = {"constant_values": False} if data.dtype.kind == "b" else {}
        padded = data.pad(widths, **fill)  # type: ignore[arg-type]
    for d in widths:
        if d in data.coords:
            padded = padded.assign_coords({d: _extended(data, str(d), pads[str(d)])})
    grid = np.empty([len(ranges[str(d)] or ()) for d in tiled], dtype=object)
    for index in np.ndindex(*grid.shape):
        sel = {}
        inner = {}
        for d, i in zip(tiled, index, strict=True):
            begin, end = (ranges[str(d)] or [])[i]
            pad = pads.get(str(d), 0)
            sel[d] = slice(begin, end + 2 * pad)
            inner[d] = slice(pad, pad + end - begin)
        tile = padded.isel(sel)
        result = process(data=tile, context=context)
        if isinstance(result, LabeledArray):
            result = result.data
        if not isinstance(result, xr.DataArray) or dict(result.sizes) != dict(tile.sizes):
            raise ProcessParameterInvalid(
                process="apply_neighborhood",
                parameter="process",
                reason="the process must return a cube of the neighbourhood's shape",
                exception="DataCubePropertiesImmutable",
            )
        # A UDF may return a bare array: labels and the grid (spatial_ref) are the tile's.
        missing = {k: v for k, v in tile.coords.items() if k not in result.coords}
        grid[index] = result.assign_coords(missing).transpose(*tile.dims).isel(inner)
    if not tiled:
        out = cast(xr.DataArray, grid[()])
    else:
        out = xr.combine_nested(grid.tolist(), concat_dim=list(tiled), combine_attrs="override")
    return (
        out.transpose(*data.dims)
        .assign_coords({d: data.coords[d] for d in tiled if d in data.coords})
        .assign_attrs(data.attrs)
    )


def _extended(cube: xr.DataArray, dim: str, pad: int) -> np.ndarray:
    """Coordinates of ``dim`` continued by ``pad`` steps on both sides."""
    values = label_values(cube, dim)
    if values.size < 2 or not np.issubdtype(values.dtype, np.number):
        return np.concatenate([np.full(pad, values[0]), values, np.full(pad, values[-1])])
    step = values[1] - values[0]
    before = values[0] - step * np.arange(pad, 0, -1)
    after = values[-1] + step * np.arange(1, pad + 1)
    return np.concatenate([before, values, after])

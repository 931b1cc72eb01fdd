"""Resampling: onto another resolution or projection, onto another cube's grid, onto
another cube's time steps. Spatial warping is odc-geo's ``xr_reproject`` (lazy)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import xarray as xr
from affine import Affine
from odc.geo import CRS
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_reproject

from eostation.engine.cube import (
    carry_metadata,
    dimension_type,
    dims_of_type,
    ensure_cube,
    label_values,
    require_dimension,
)
from eostation.engine.grid import geobox
from eostation.engine.processes.cubes.schemas import (
    CRS_CODES,
    RASTER,
    RESAMPLING_METHODS,
    TEMPORAL_CUBE,
    RasterCube,
    TemporalCube,
)
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import DimensionMismatch, ProcessParameterInvalid

__all__ = ["onto_grid", "resample_cube_spatial", "resample_cube_temporal", "resample_spatial"]

_REPROJECT = ("cubes", "reproject")
Method = Annotated[str, Param({"type": "string", "enum": RESAMPLING_METHODS})]
RasterOut = Annotated[Any, Param(RASTER)]
_GDAL_NAMES = {"near": "nearest", "cubicspline": "cubic_spline"}
_AGGREGATING = frozenset({"average", "max", "med", "min", "mode", "q1", "q3", "rms", "sum"})
_MIN_CHUNK = 512
"""Smallest output chunk side of a warp: odc-geo would otherwise give the output the
source's chunk size, and a 9 × 12 px cube warped onto 251 × 329 px became 728 GDAL
calls per band and date instead of one."""


def onto_grid(cube: xr.DataArray, target: GeoBox, method: str = "near") -> xr.DataArray:
    """``cube`` warped onto the pixel grid ``target`` (lazy; nodata stays null)."""
    if method not in RESAMPLING_METHODS:
        raise ProcessParameterInvalid(
            process="resample", parameter="method", reason=f"unknown method '{method}'."
        )
    source = cube if cube.dtype.kind in "fc" else cube.astype(np.float32)
    if method in _AGGREGATING:
        source = _covering(source, target)
    extra: dict[str, Any] = {}
    if source.chunks is not None:
        iy = source.odc.ydim  # x follows y: odc-geo requires it
        side_y, side_x = max(source.chunks[iy]), max(source.chunks[iy + 1])
        extra["chunks"] = (
            min(target.height, max(side_y, _MIN_CHUNK)),
            min(target.width, max(side_x, _MIN_CHUNK)),
        )
    out = xr_reproject(
        source, target, resampling=_GDAL_NAMES.get(method, method), dst_nodata=np.nan, **extra
    )
    return carry_metadata(out, cube)


def _covering(source: xr.DataArray, target: GeoBox) -> xr.DataArray:
    """``source`` extended with no-data until it covers ``target``'s footprint.

    GDAL leaves a target pixel of an aggregating method (average, min, ...) empty when
    its window reaches beyond the source raster, even when data fill most of it: a
    300 m average of a 1,450 m wide 10 m cube lost its last column. Beyond the source
    there is only no-data, which these methods skip, so each such pixel aggregates the
    data it covers, as the spec's "non-NODATA contributing pixels" asks.
    """
    box = source.odc.geobox
    if box is None or not box.axis_aligned:
        return source
    footprint = target.extent.to_crs(box.crs).boundingbox
    inverse = ~box.affine
    cols, rows = zip(*(inverse * corner for corner in footprint.points), strict=True)
    ny, nx = box.shape
    # One pixel more on each side than the footprint needs: its edges fall between pixels.
    before_x, after_x = max(0, 1 - math.floor(min(cols))), max(0, math.ceil(max(cols)) + 1 - nx)
    before_y, after_y = max(0, 1 - math.floor(min(rows))), max(0, math.ceil(max(rows)) + 1 - ny)
    if not (before_x or after_x or before_y or after_y):
        return source
    ydim, xdim = source.odc.spatial_dims
    padded = source.pad({ydim: (before_y, after_y), xdim: (before_x, after_x)})
    a, c, e, f = box.affine.a, box.affine.c, box.affine.e, box.affine.f
    return padded.assign_coords(
        {
            xdim: c + a * (np.arange(-before_x, nx + after_x) + 0.5),
            ydim: f + e * (np.arange(-before_y, ny + after_y) + 0.5),
        }
    )


def _grid(
    bounds: tuple[float, float, float, float], crs: CRS, rx: float, ry: float, align: str
) -> GeoBox:
    """A north-up grid covering ``bounds`` whose ``align`` corner sits on the bounds' corner."""
    left, bottom, right, top = bounds
    width = max(1, math.ceil((right - left) / rx - 1e-9))
    height = max(1, math.ceil((top - bottom) / ry - 1e-9))
    x0 = left if align.endswith("left") else right - width * rx
    y0 = top if align.startswith("upper") else bottom + height * ry
    return GeoBox((height, width), Affine(rx, 0.0, x0, 0.0, -ry, y0), crs)


@process("resample_spatial", categories=_REPROJECT)
def resample_spatial(
    data: RasterCube,
    resolution: Annotated[
        Any,
        Param(
            [
                {"type": "number", "minimum": 0},
                {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": {"type": "number", "minimum": 0},
                },
            ]
        ),
    ] = 0,
    projection: Annotated[
        Any,
        Param([*CRS_CODES, {"type": "null"}]),
    ] = None,
    method: Method = "near",
    align: Annotated[
        str,
        Param(
            {
                "type": "string",
                "enum": ["lower-left", "upper-left", "lower-right", "upper-right"],
            }
        ),
    ] = "upper-left",
) -> RasterOut:
    """Change the resolution and/or the projection of a raster cube.

    The new grid covers the cube's extent (reprojected when the projection changes);
    one of its corners, chosen by `align`, sits on the same corner of that extent.

    Args:
        data: A raster cube.
        resolution: The new pixel size in units of the target projection, one value
            for both axes or `[x, y]`; 0 keeps the resolution.
        projection: The target projection (EPSG code or WKT2); null keeps it.
        method: How values are resampled (as in `gdalwarp -r`).
        align: The corner of the extent the new grid is aligned to.

    Returns:
        The resampled cube; every dimension but x and y is unchanged.
    """
    cube = ensure_cube(data, "resample_spatial")
    box = geobox(cube)
    if box is None:
        raise ProcessParameterInvalid(
            process="resample_spatial", parameter="data", reason="the cube has no x/y grid."
        )
    target_crs = CRS(projection) if projection is not None else box.crs
    if target_crs is None:
        raise ProcessParameterInvalid(
            process="resample_spatial", parameter="data", reason="the cube has no CRS."
        )
    rx, ry = (
        (float(resolution[0]), float(resolution[1]))
        if isinstance(resolution, (list, tuple))
        else (float(resolution), float(resolution))
    )
    if box.crs == target_crs and not rx and not ry:
        return cube
    if box.crs == target_crs:
        extent = box.boundingbox
    else:
        moved = box.to_crs(target_crs)
        extent = moved.boundingbox
        if not rx or not ry:
            rx = rx or abs(moved.resolution.x)
            ry = ry or abs(moved.resolution.y)
    rx = rx or abs(box.resolution.x)
    ry = ry or abs(box.resolution.y)
    bounds = (extent.left, extent.bottom, extent.right, extent.top)
    return onto_grid(cube, _grid(bounds, target_crs, rx, ry, align), method)


@process("resample_cube_spatial", categories=_REPROJECT)
def resample_cube_spatial(
    data: RasterCube, target: RasterCube, method: Method = "near"
) -> RasterOut:
    """Put a raster cube on the pixel grid (projection, resolution, extent) of another.

    Args:
        data: The raster cube to resample.
        target: The raster cube whose grid is wanted.
        method: How values are resampled (as in `gdalwarp -r`).

    Returns:
        `data` on the grid of `target`; other dimensions unchanged.
    """
    cube = ensure_cube(data, "resample_cube_spatial")
    want = geobox(ensure_cube(target, "resample_cube_spatial", "target"))
    if want is None or geobox(cube) is None:
        raise ProcessParameterInvalid(
            process="resample_cube_spatial", parameter="target", reason="a cube has no x/y grid."
        )
    if geobox(cube) == want:
        return cube
    return onto_grid(cube, want, method)


def _candidates(
    source: np.ndarray, target: np.ndarray, window: np.timedelta64 | None
) -> list[np.ndarray]:
    """Per rank r, the index of the r-th nearest source time for each target (-1: none).

    Without a window only the nearest (rank 0) is returned. Ties go to the earlier time.
    """
    src = source.astype("datetime64[ns]").astype(np.int64)
    tgt = target.astype("datetime64[ns]").astype(np.int64)
    distance = np.abs(tgt[:, None] - src[None, :]).astype(float)
    order = np.lexsort((np.broadcast_to(src, distance.shape), distance), axis=1)
    if window is None:
        return [order[:, 0]]
    limit = float(window.astype("timedelta64[ns]").astype(np.int64))
    ranked = np.take_along_axis(distance, order, axis=1)
    ranks = []
    for r in range(order.shape[1]):
        column = np.where(ranked[:, r] <= limit, order[:, r], -1)
        if (column < 0).all():
            break
        ranks.append(column)
    return ranks or [np.full(len(tgt), -1)]


@process(
    "resample_cube_temporal",
    categories=_REPROJECT,
    exceptions={
        "DimensionMismatch": "The temporal dimensions of the cubes do not match.",
        "DimensionNotAvailable": "The dimension does not exist.",
    },
)
def resample_cube_temporal(
    data: TemporalCube,
    target: TemporalCube,
    dimension: str | None = None,
    valid_within: float | None = None,
) -> Annotated[Any, Param(TEMPORAL_CUBE)]:
    """Put a cube on the time steps of another, taking the nearest time step.

    Each target time takes the values of the nearest time of `data` (the earlier one on
    a tie), valid or not. With `valid_within` each pixel takes the nearest valid value
    within that many days before or after, and null when there is none.

    Args:
        data: A cube with one or more temporal dimensions.
        target: The cube whose time labels are wanted.
        dimension: The temporal dimension to resample, present in both cubes; null
            resamples every temporal dimension they share.
        valid_within: Search window in days for valid values; null disables it.

    Returns:
        `data` with the time labels of `target`.
    """
    cube = ensure_cube(data, "resample_cube_temporal")
    other = ensure_cube(target, "resample_cube_temporal", "target")
    if dimension is not None:
        require_dimension(cube, dimension)
        require_dimension(other, dimension)
        if "temporal" not in (dimension_type(cube, dimension), dimension_type(other, dimension)):
            raise DimensionMismatch(reason=f"'{dimension}' is not temporal")
        dims = [dimension]
    else:
        dims = [d for d in dims_of_type(cube, "temporal") if d in dims_of_type(other, "temporal")]
        if not dims:
            raise DimensionMismatch(reason="the cubes share no temporal dimension")
    window = None if valid_within is None else np.timedelta64(int(valid_within * 86_400_000), "ms")
    out = cube
    for dim in dims:
        wanted = label_values(other, dim)
        ranks = _candidates(label_values(out, dim), wanted, window)
        result: xr.DataArray | None = None
        for column in reversed(ranks):
            picked = out.isel({dim: np.maximum(column, 0)}).assign_coords({dim: wanted})
            present = xr.DataArray(column >= 0, dims=(dim,), coords={dim: wanted})
            usable = present & picked.notnull() if window is not None else present
            result = picked.where(usable) if result is None else picked.where(usable, result)
        assert result is not None
        result[dim].attrs = dict(cube[dim].attrs) if dim in cube.coords else {}
        out = result
    return carry_metadata(out, cube)

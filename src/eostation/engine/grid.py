"""A raster cube's pixel grid: its odc-geo geobox and CRS, bounds and geometry masks.

The grid is held by odc-geo (``cube.odc``); the dimensions it spans are those of
:func:`eostation.engine.cube.spatial_dims`. Everything here works on coordinates only,
so cubes stay lazy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import shapely
import xarray as xr
from odc.geo import CRS
from odc.geo.geobox import GeoBox
from odc.geo.geom import box as geo_box

from eostation.engine.cube import label_values, spatial_dims

__all__ = ["bbox_in_crs", "clip_to_bounds", "crs", "geobox", "inside_mask"]


def geobox(cube: xr.DataArray) -> GeoBox | None:
    """The cube's pixel grid (odc-geo), None when it has no regular x/y grid."""
    try:
        box = cube.odc.geobox
    except (AttributeError, ValueError):
        return None
    return box if isinstance(box, GeoBox) else None


def crs(cube: xr.DataArray) -> CRS | None:
    """The cube's coordinate reference system, None when unknown."""
    try:
        found = cube.odc.crs
    except (AttributeError, ValueError):
        return None
    return found if isinstance(found, CRS) else None


def bbox_in_crs(
    bbox: tuple[float, float, float, float], bbox_crs: Any, target: Any
) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of a bbox reprojected to ``target`` (edges densified)."""
    source, goal = CRS(bbox_crs), CRS(target)
    if source == goal:
        return bbox
    moved = geo_box(*bbox, source).to_crs(goal, resolution="auto")
    b = moved.boundingbox
    return float(b.left), float(b.bottom), float(b.right), float(b.top)


def _tolerance(values: np.ndarray) -> float:
    """A tiny distance (a millionth of a pixel) that absorbs reprojection round-off."""
    return float(abs(values[1] - values[0])) * 1e-6 if values.size > 1 else 1e-9


def clip_to_bounds(
    cube: xr.DataArray, bounds: tuple[float, float, float, float] | None
) -> xr.DataArray:
    """The pixels whose centres lie in ``(west, south, east, north)`` (cube CRS, inclusive).

    ``None`` bounds give an empty spatial extent. Works on coordinates only (lazy).
    """
    ydim, xdim = spatial_dims(cube)
    xs, ys = label_values(cube, xdim).astype(float), label_values(cube, ydim).astype(float)
    if bounds is None:
        return cube.isel({xdim: slice(0, 0), ydim: slice(0, 0)})
    west, south, east, north = bounds
    tx, ty = _tolerance(xs), _tolerance(ys)
    keep_x = np.flatnonzero((xs >= west - tx) & (xs <= east + tx))
    keep_y = np.flatnonzero((ys >= south - ty) & (ys <= north + ty))
    return cube.isel({xdim: _as_slice(keep_x), ydim: _as_slice(keep_y)})


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """Contiguous positions as a slice (keeps the odc-geo grid), else the positions."""
    if index.size == 0:
        return slice(0, 0)
    if index[-1] - index[0] + 1 == index.size:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def inside_mask(cube: xr.DataArray, geometries: Sequence[Any]) -> xr.DataArray:
    """Lazy ``(y, x)`` boolean mask: True where a pixel centre intersects a geometry.

    ``geometries`` are shapely geometries in the cube's CRS. The mask is a dask array
    chunked like the cube's spatial dimensions, computed block by block.
    """
    ydim, xdim = spatial_dims(cube)
    xs, ys = label_values(cube, xdim).astype(float), label_values(cube, ydim).astype(float)
    tol = min(_tolerance(xs), _tolerance(ys))
    valid = [g for g in geometries if g is not None and not shapely.is_empty(g)]
    shape = shapely.union_all(valid).buffer(tol) if valid else shapely.Polygon()
    shapely.prepare(shape)
    chunks: tuple[tuple[int, ...], ...]
    if cube.chunks is not None:
        by_dim = dict(zip(cube.dims, cube.chunks, strict=True))
        chunks = (by_dim[ydim], by_dim[xdim])
    else:
        chunks = ((ys.size,), (xs.size,))

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (y0, y1), (x0, x1) = block_info[None]["array-location"]
        xx, yy = np.meshgrid(xs[x0:x1], ys[y0:y1])
        return np.asarray(shapely.intersects_xy(shape, xx, yy), dtype=bool)

    data = da.map_blocks(block, chunks=chunks, dtype=bool, meta=np.empty((0, 0), bool))
    return xr.DataArray(
        data, dims=(ydim, xdim), coords={ydim: cube.coords[ydim], xdim: cube.coords[xdim]}
    )

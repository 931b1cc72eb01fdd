"""Swath products (e.g. Sentinel-5P L2 with 2-D latitude/longitude) gridded by binning.

Each swath pixel falls into the cell of a regular EPSG:4326 grid that contains its
*centre* coordinates; a cell holds the mean of the valid (finite) values that fell into
it and NaN when none did. Pixel footprints (the corner bounds) are not used: with cells
coarser than the ground pixels, as configured for TROPOMI (7 × 5.5 km, cells ≥ 0.05°),
centre binning is what the footprint overlap would give up to edge effects, at a
fraction of the cost.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox

from .config import SwathSpec

__all__ = ["bin_swath", "swath_geobox"]


def _squeeze(values: NDArray[np.generic]) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    while arr.ndim > 2:
        arr = arr[0]
    return arr


def swath_geobox(ds: xr.Dataset, spec: SwathSpec) -> GeoBox:
    """The cells covering a swath's pixel centres, on the global lattice of multiples of
    ``spec.resolution`` degrees (so granules of one collection share cells exactly)."""
    lon, lat = _squeeze(ds[spec.lon].values), _squeeze(ds[spec.lat].values)
    ok = np.isfinite(lon) & np.isfinite(lat)
    r = spec.resolution
    w, e = np.floor(lon[ok].min() / r) * r, (np.floor(lon[ok].max() / r) + 1) * r
    s, n = np.floor(lat[ok].min() / r) * r, (np.floor(lat[ok].max() / r) + 1) * r
    return GeoBox.from_bbox((w, s, e, n), "EPSG:4326", resolution=r, tight=True)


def bin_swath(ds: xr.Dataset, var: str, spec: SwathSpec, geobox: GeoBox) -> NDArray[np.float32]:
    """Mean of the valid swath values per cell of ``geobox`` (NaN for empty cells)."""
    lon, lat = _squeeze(ds[spec.lon].values), _squeeze(ds[spec.lat].values)
    values = _squeeze(ds[var].values)
    inv = ~geobox.affine
    located = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(values)
    col, row = inv @ (lon[located], lat[located])
    values = values[located]
    ny, nx = geobox.shape
    col_i, row_i = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
    ok = (col_i >= 0) & (col_i < nx) & (row_i >= 0) & (row_i < ny)
    cell = row_i[ok] * nx + col_i[ok]
    total = np.bincount(cell, weights=values[ok], minlength=ny * nx)
    count = np.bincount(cell, minlength=ny * nx)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.reshape(ny, nx).astype(np.float32)

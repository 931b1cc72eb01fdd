"""Coarse EFAST layers onto the 10 m grid by nearest neighbour, one warp per grid pair.

``merge_cubes`` warps every (date, band) block separately; EFAST's coarse layers (300 m
scores, S3 composites) are small, so the nearest source pixel of every target pixel is
found once, by warping an image of source pixel numbers with GDAL's nearest resampling
(the same choice ``merge_cubes`` makes), and every date and band is then gathered with
that index map.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.engine.cube import carry_metadata
from eostation.engine.grid import geobox
from eostation.engine.processes.cubes.resample import onto_grid

__all__ = ["nearest_onto"]


def _index_map(source: GeoBox, target: GeoBox) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column of the nearest source pixel per target pixel, and where there is one."""
    numbers = np.arange(source.shape[0] * source.shape[1], dtype=np.float64)
    image = xr.DataArray(
        numbers.reshape(source.shape), dims=("y", "x"), coords=xr_coords(source, dims=("y", "x"))
    )
    mapped = np.asarray(onto_grid(image, target, "near").values)
    valid = np.isfinite(mapped)
    rows, cols = np.divmod(np.where(valid, mapped, 0).astype(np.int64), source.shape[1])
    return rows, cols, valid


def nearest_onto(coarse: xr.DataArray, fine: xr.DataArray) -> xr.DataArray:
    """``coarse`` ``(..., y, x)`` on the grid of ``fine`` (lazy; null outside ``coarse``)."""
    want, have = geobox(fine), geobox(coarse)
    if want is None or have is None or want == have:
        return coarse
    rows, cols, valid = _index_map(have, want)
    lead = [d for d in coarse.dims if d not in ("y", "x")]
    ordered = coarse.transpose(*lead, "y", "x")
    source = da.asarray(ordered.data).rechunk({ordered.ndim - 2: -1, ordered.ndim - 1: -1})

    # One flat index (take along the last axis) instead of a row and a column index: one
    # pass over the output, and no second copy when the source is float64 already.
    flat = (rows * have.shape[1] + cols).ravel()
    invalid = ~valid.ravel()

    def gather(block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        planes = np.asarray(block, dtype=np.float64).reshape(*block.shape[:-2], -1)
        out: np.ndarray[Any, Any] = np.take(planes, flat, axis=-1)
        out[..., invalid] = np.nan
        return out.reshape(*block.shape[:-2], *want.shape)

    chunks = (*source.chunks[:-2], (want.shape[0],), (want.shape[1],))
    data = source.map_blocks(gather, dtype=np.float64, chunks=chunks)
    coords = {d: ordered.coords[d] for d in lead if d in ordered.coords}
    out = xr.DataArray(
        data, dims=(*lead, "y", "x"), coords={**coords, **xr_coords(want, dims=("y", "x"))}
    )
    return carry_metadata(out, coarse)

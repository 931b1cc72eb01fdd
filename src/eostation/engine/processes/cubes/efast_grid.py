"""Coarse EFAST layers onto the 10 m grid by nearest neighbour, one warp per grid pair.

``merge_cubes`` warps every (date, band) block separately; EFAST's coarse layers (300 m
scores, S3 composites) are small, so the nearest source pixel of every target pixel is
found once, by warping an image of source pixel numbers with GDAL's nearest resampling
(the same choice ``merge_cubes`` makes). The fused 10 m kernel then gathers every date
and band of a coarse layer with that index map, block by block
(:func:`.efast_kernels.gather`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from odc.geo.xr import xr_coords

from eostation.engine.grid import geobox
from eostation.engine.processes.cubes.resample import onto_grid

__all__ = ["pixel_index"]


def pixel_index(coarse: xr.DataArray, fine: xr.DataArray) -> NDArray[np.int64]:
    """The flat index ``row * width + col`` of the ``coarse`` pixel nearest to every
    ``fine`` pixel, ``(y, x)`` on the grid of ``fine``; -1 where ``coarse`` has none."""
    want, have = geobox(fine), geobox(coarse)
    if want is None or have is None or want == have:
        height, width = coarse.sizes["y"], coarse.sizes["x"]
        return np.arange(height * width, dtype=np.int64).reshape(height, width)
    numbers = np.arange(have.shape[0] * have.shape[1], dtype=np.float64)
    image = xr.DataArray(
        numbers.reshape(have.shape), dims=("y", "x"), coords=xr_coords(have, dims=("y", "x"))
    )
    mapped = np.asarray(onto_grid(image, want, "near").values)
    index: NDArray[np.int64] = np.where(np.isfinite(mapped), mapped, -1).astype(np.int64)
    return index

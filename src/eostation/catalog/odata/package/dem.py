"""Copernicus DEM GLO-30 tiles (``COP-DEM``): a 1° tile as its DGED distribution lays it out.

``<product>.DEM/<tile>/DEM/<tile>_DEM.tif``, where the product is named as on CDSE
(``DEM1_SAR_DGE_30_…_ADS_000000_<code>.DEM``, :mod:`..dem_names`) and ``<tile>`` is
``Copernicus_DSM_10_N50_00_E004_00`` (the catalogue's item id without ``COG_`` and
``_DEM``): heights above the EGM2008 geoid
in metres as float32 on EPSG:4326 at 1 arcsecond, nodata -32767 as in the real tiles.
The GeoTIFF is written uncompressed and striped (the real DGED files are compressed) so
that its size follows from its shape and ``ContentLength`` is known before it is built.
The real tile's ``AUXFILES`` (editing, filling, height error and water body masks),
``INFO`` and ``PREVIEW`` folders are not written: the demo world has no such data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from ..entity import item_id_of
from .plan import ProductPlan

__all__ = ["NODATA", "dem_tile_name", "write_dem"]

NODATA: Final = -32767.0


def dem_tile_name(product_name: str) -> str:
    """``Copernicus_DSM_10_N50_00_E004_00`` for the product of item
    ``Copernicus_DSM_COG_10_N50_00_E004_00_DEM`` (given its CDSE name or its item id)."""
    stem = item_id_of(product_name).removesuffix("_DEM")
    return stem.replace("_COG_", "_", 1)


def write_dem(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<product>/<tile>/DEM/<tile>_DEM.tif`` into ``folder``; ``cube`` None writes
    a zero template (same shape and tags, so the same size)."""
    tile = dem_tile_name(plan.name)
    target = folder / plan.name / tile / "DEM"
    target.mkdir(parents=True)
    if cube is not None:
        heights = np.asarray(cube.isel(t=0, bands=0).values, dtype=np.float32)
        heights = np.where(np.isnan(heights), np.float32(NODATA), heights)
        xs, ys = np.asarray(cube["x"].values), np.asarray(cube["y"].values)
        dx, dy = float(xs[1] - xs[0]), float(ys[0] - ys[1])
        transform = from_origin(float(xs[0]) - dx / 2, float(ys[0]) + dy / 2, dx, dy)
    else:
        heights = np.zeros(shape, np.float32)
        w, _, _, n = plan.bbox
        transform = from_origin(w, n, 1 / 3600, 1 / 3600)
    profile = {
        "driver": "GTiff",
        "width": shape[1],
        "height": shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": NODATA,
        "compress": "none",
        "tiled": False,
    }
    with rasterio.open(target / f"{tile}_DEM.tif", "w", **profile) as dst:
        dst.write(heights, 1)
        dst.update_tags(1, units="m", vertical_datum="EGM2008")
        dst.set_band_description(1, "DEM")

"""Small cubes whose values reveal a transposed, flipped or mislabelled output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
import xvec  # noqa: F401  (registers the .xvec accessor)
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

DATES = pd.to_datetime(["2022-09-07", "2022-09-12", "2022-09-17"]).values
GEOBOX = GeoBox.from_bbox((500000, 4000000, 500080, 4000050), "epsg:32633", resolution=10)


def raster(
    *, dates: int | None = 3, bands: tuple[str, ...] | None = ("B04", "B08"), chunks: bool = False
) -> xr.DataArray:
    """``value = 1000*t + 100*band + 10*row + col`` on a 5×8 UTM grid (north up)."""
    ny, nx = GEOBOX.shape.y, GEOBOX.shape.x
    nt = dates or 1
    nb = len(bands) if bands else 1
    t, b, y, x = np.meshgrid(
        np.arange(nt), np.arange(nb), np.arange(ny), np.arange(nx), indexing="ij"
    )
    values = (1000 * t + 100 * b + 10 * y + x).astype("float32")
    coords: dict[str, object] = dict(xr_coords(GEOBOX))
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"), coords=coords)
    cube = cube.assign_coords(t=DATES[:nt], bands=list(bands) if bands else ["_"])
    if dates is None:
        cube = cube.isel(t=0, drop=True)
    if bands is None:
        cube = cube.isel(bands=0, drop=True)
    return cube.chunk({"y": 2, "x": 3}) if chunks else cube


def vector(
    *, dates: int | None = 3, bands: tuple[str, ...] | None = ("B04", "B08")
) -> xr.DataArray:
    """Two polygons; ``value = 100*t + 10*geometry + band``; one NaN at (t0, g1, band0)."""
    geoms = [shapely.box(14.0, 36.0, 14.1, 36.1), shapely.box(15.0, 37.0, 15.2, 37.2)]
    nt = dates or 1
    nb = len(bands) if bands else 1
    t, g, b = np.meshgrid(np.arange(nt), np.arange(2), np.arange(nb), indexing="ij")
    values = (100 * t + 10 * g + b).astype("float64")
    values[0, 1, 0] = np.nan
    cube = xr.DataArray(
        values,
        dims=("t", "geometries", "bands"),
        coords={"t": DATES[:nt], "geometries": geoms, "bands": list(bands) if bands else ["_"]},
    ).xvec.set_geom_indexes("geometries", crs=4326)
    cube = cube.assign_coords(feature_id=("geometries", ["field-a", "field-b"]))
    if dates is None:
        cube = cube.isel(t=0, drop=True)
    if bands is None:
        cube = cube.isel(bands=0, drop=True)
    return cube


@pytest.fixture
def cube() -> xr.DataArray:
    return raster()


@pytest.fixture
def vector_cube() -> xr.DataArray:
    return vector()

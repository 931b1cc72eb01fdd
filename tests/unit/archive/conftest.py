"""Synthetic cubes on known grids for the archive tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.transform import Affine

Field = Callable[[NDArray[np.float64], NDArray[np.float64], int], NDArray[np.float64]]


def make_cube(
    bbox: tuple[float, float, float, float],
    res: float,
    dates: Sequence[str],
    field: Field,
    bands: Sequence[str] = ("a", "b"),
    crs: str = "EPSG:4326",
) -> xr.DataArray:
    """A ``(t, bands, y, x)`` float32 cube on a north-up grid; ``field(x, y, date_index)``."""
    w, s, e, n = bbox
    nx, ny = round((e - w) / res), round((n - s) / res)
    geobox = GeoBox((ny, nx), Affine(res, 0.0, w, 0.0, -res, n), crs)
    coords = xr_coords(geobox, dims=("y", "x"))
    x = coords["x"].values[None, :]
    y = coords["y"].values[:, None]
    data = np.stack(
        [np.stack([field(x, y, k) + 100 * j for j in range(len(bands))]) for k in range(len(dates))]
    ).astype(np.float32)
    return xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={"t": np.array(dates, dtype="datetime64[ns]"), "bands": list(bands), **coords},
    )

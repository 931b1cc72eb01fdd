"""Sentinel-3 OLCI Level-1 EFR products: a ``.SEN3`` folder as the real product lays it out.

``Oa01_radiance.nc`` … ``Oa21_radiance.nc`` hold TOA radiance as uint16 counts with a
``scale_factor`` (the product's own calibration: xarray decodes it), ``geo_coordinates.nc``
the latitude and longitude of every pixel (int32 micro-degrees, scaled as in the real
product), ``time_coordinates.nc`` the time of each row, ``xfdumanifest.xml`` the product
metadata. Rows and columns are those of the demo grid, so decoded radiances equal
``load_collection`` at the same pixel centres within half a count (``RADIANCE_SCALE/2``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import h5netcdf
import numpy as np
import xarray as xr

from .plan import ProductPlan
from .sen3 import write_geolocation, write_manifest, write_times

__all__ = ["RADIANCE_SCALE", "write_olci"]

#: Radiance per count (mW m⁻² sr⁻¹ nm⁻¹): 65534 counts reach 819, above any TOA radiance.
RADIANCE_SCALE: Final = 0.0125
_FILL_U16: Final = 65535


def write_olci(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>.SEN3/`` into ``folder``; ``cube`` None writes a zero template."""
    root = folder / plan.name
    root.mkdir()
    write_manifest(root, plan, shape, "OL_1_EFR___", "olci/level-1")
    write_geolocation(root / "geo_coordinates.nc", cube, shape, ("latitude", "longitude"))
    write_times(root / "time_coordinates.nc", plan, shape[0], template=cube is None)
    dims = ("rows", "columns")
    rows, columns = shape
    for i in range(1, 22):
        if cube is not None:
            radiance = np.asarray(cube.sel(bands=f"B{i:02d}").isel(t=0).values, dtype=np.float64)
            counts = np.clip(np.round(radiance / RADIANCE_SCALE), 0, _FILL_U16 - 1)
            data = np.where(np.isnan(radiance), _FILL_U16, counts).astype("u2")
        else:
            data = np.zeros(shape, "u2")
        with h5netcdf.File(root / f"Oa{i:02d}_radiance.nc", "w") as nc:
            nc.dimensions = {"rows": rows, "columns": columns}
            var = nc.create_variable(
                f"Oa{i:02d}_radiance", dims, "u2", data=data, fillvalue=np.uint16(_FILL_U16)
            )
            var.attrs["scale_factor"] = np.float32(RADIANCE_SCALE)
            var.attrs["add_offset"] = np.float32(0.0)
            var.attrs["units"] = "mW.m-2.sr-1.nm-1"
            var.attrs["long_name"] = f"TOA radiance for OLCI acquisition band Oa{i:02d}"

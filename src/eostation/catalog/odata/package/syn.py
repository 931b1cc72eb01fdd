"""Sentinel-3 SYN Level-2 products (``SY_2_SYN``): a ``.SEN3`` folder as the real one.

``Syn_OaNN_reflectance.nc`` holds the surface directional reflectance ``SDR_OaNN`` of each
OLCI band the product carries, as int16 with ``scale_factor`` 1e-4 and fill -10000 (the
real product's encoding: xarray decodes it), ``flags.nc`` the ``CLOUD_flags``,
``geolocation.nc`` ``lat``/``lon`` of every pixel, ``time.nc`` the time of each row and
``xfdumanifest.xml`` the product metadata. Rows and columns are those of the demo grid,
so decoded reflectances equal ``load_collection`` at the same pixel centres within half
a step of the encoding (``REFLECTANCE_SCALE/2``). The real product's SLSTR-band
reflectances (``Syn_S1N_reflectance.nc`` …) and aerosol files are not written: the demo
collection has no such bands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import h5netcdf
import numpy as np
import xarray as xr

from .plan import ProductPlan
from .sen3 import write_geolocation, write_manifest, write_times

__all__ = ["REFLECTANCE_SCALE", "SYN_BANDS", "write_syn"]

#: Reflectance per count, as in the real product.
REFLECTANCE_SCALE: Final = 1e-4
_FILL_I16: Final = -10000
#: The OLCI bands of the SYN product (no absorption bands), as the demo collection names them.
SYN_BANDS: Final = [
    f"Syn_Oa{i:02d}_reflectance" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 17, 18, 21)
]
FLAGS: Final = "CLOUD_flags"


def write_syn(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>.SEN3/`` into ``folder``; ``cube`` None writes a zero template."""
    root = folder / plan.name
    root.mkdir()
    write_manifest(root, plan, shape, "SY_2_SYN___", "synergy/level-2")
    write_geolocation(root / "geolocation.nc", cube, shape, ("lat", "lon"))
    write_times(root / "time.nc", plan, shape[0], template=cube is None)
    rows, columns = shape
    dims = ("rows", "columns")
    for band in SYN_BANDS:
        if cube is not None:
            sdr = np.asarray(cube.sel(bands=band).isel(t=0).values, dtype=np.float64)
            counts = np.clip(np.round(sdr / REFLECTANCE_SCALE), -9999, 32767)
            data = np.where(np.isnan(sdr), _FILL_I16, counts).astype("i2")
        else:
            data = np.zeros(shape, "i2")
        oa = band.split("_")[1]
        with h5netcdf.File(root / f"{band}.nc", "w") as nc:
            nc.dimensions = {"rows": rows, "columns": columns}
            var = nc.create_variable(
                f"SDR_{oa}", dims, "i2", data=data, fillvalue=np.int16(_FILL_I16)
            )
            var.attrs["scale_factor"] = np.float32(REFLECTANCE_SCALE)
            var.attrs["add_offset"] = np.float32(0.0)
            var.attrs["long_name"] = (
                f"Surface directional reflectance associated with OLCI channel {oa}"
            )
    if cube is not None:
        raw = np.asarray(cube.sel(bands=FLAGS).isel(t=0).values, dtype=np.float64)
        flags = np.where(np.isnan(raw), 0, raw).astype("u1")
    else:
        flags = np.zeros(shape, "u1")
    with h5netcdf.File(root / "flags.nc", "w") as nc:
        nc.dimensions = {"rows": rows, "columns": columns}
        var = nc.create_variable(FLAGS, dims, "u1", data=flags)
        var.attrs["flag_masks"] = np.array([1, 2, 4], dtype="u1")
        var.attrs["flag_meanings"] = "CLOUD CLOUD_AMBIGUOUS CLOUD_MARGIN"

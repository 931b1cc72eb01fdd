"""Sentinel-5P L2 products: one netCDF-4 file with TROPOMI's ``PRODUCT`` group.

Scanlines are the rows of the demo grid (north to south) and ground pixels its
columns, so each sample sits on a ``load_collection`` pixel centre and holds its value
unchanged (float32, no calibration): ``xr.open_dataset(path, group="PRODUCT")``. A
``L2__ALL___`` product (the demo catalogue's daily item) carries all four gases on the
finest grid; a single-gas product type carries its gas on its own grid.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

import h5netcdf
import numpy as np
import xarray as xr

from .plan import ProductPlan

__all__ = ["GAS_VARIABLES", "bands_of", "write_s5p"]

#: Band of the demo collection → (variable, units, long name) in the ``PRODUCT`` group.
GAS_VARIABLES: Final = {
    "CH4": ("methane_mixing_ratio", "1e-9", "column averaged dry air mixing ratio of methane"),
    "CO": ("carbonmonoxide_total_column", "mol m-2", "vertically integrated CO column"),
    "NO2": (
        "nitrogendioxide_tropospheric_column",
        "mol m-2",
        "tropospheric vertical column of NO2",
    ),
    "O3": ("ozone_total_vertical_column", "mol m-2", "total vertical ozone column"),
}
_PRODUCT_BAND: Final = {
    "L2__CH4___": "CH4",
    "L2__CO____": "CO",
    "L2__NO2___": "NO2",
    "L2__O3____": "O3",
}
_FILL: Final = np.float32(9.96921e36)
_REFERENCE: Final = datetime(2010, 1, 1)


def bands_of(product_type: str | None) -> list[str]:
    """Demo bands in an S5P product: one gas, or all four for ``L2__ALL___``."""
    if product_type in _PRODUCT_BAND:
        return [_PRODUCT_BAND[product_type]]
    return list(GAS_VARIABLES)


def write_s5p(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>`` into ``folder``; ``cube`` None writes a zero template of ``shape``."""
    ny, nx = shape
    if cube is not None:
        lat = np.broadcast_to(np.asarray(cube["y"].values, np.float32)[:, None], shape)
        lon = np.broadcast_to(np.asarray(cube["x"].values, np.float32)[None, :], shape)
    else:
        lat = lon = np.zeros(shape, np.float32)
    day = datetime.fromisoformat(plan.day)
    with h5netcdf.File(folder / plan.name, "w") as nc:
        nc.attrs["Conventions"] = "CF-1.7"
        nc.attrs["product_name"] = plan.name
        nc.attrs["time_coverage_start"] = plan.start
        nc.attrs["time_coverage_end"] = plan.end
        nc.attrs["institution"] = "eostation demo world (synthetic)"
        product = nc.create_group("PRODUCT")
        product.dimensions = {"time": 1, "scanline": ny, "ground_pixel": nx}
        product.create_variable("scanline", ("scanline",), "i4", data=np.arange(ny, dtype="i4"))
        product.create_variable(
            "ground_pixel", ("ground_pixel",), "i4", data=np.arange(nx, dtype="i4")
        )
        time = product.create_variable(
            "time", ("time",), "i4", data=np.array([(day - _REFERENCE).days * 86400], "i4")
        )
        time.attrs["units"] = "seconds since 2010-01-01 00:00:00"
        dims = ("time", "scanline", "ground_pixel")
        for name, data, unit in (
            ("latitude", lat, "degrees_north"),
            ("longitude", lon, "degrees_east"),
        ):
            var = product.create_variable(name, dims, "f4", data=data[None])
            var.attrs["units"] = unit
        valid = np.ones(shape, bool)
        for band in bands_of(plan.product_type):
            variable, units, long_name = GAS_VARIABLES[band]
            values = (
                np.asarray(cube.sel(bands=band).isel(t=0).values, dtype=np.float32)
                if cube is not None
                else np.zeros(shape, np.float32)
            )
            valid &= ~np.isnan(values)
            gas = product.create_variable(
                variable,
                dims,
                "f4",
                data=np.where(np.isnan(values), _FILL, values)[None],
                fillvalue=_FILL,
            )
            gas.attrs["units"] = units
            gas.attrs["long_name"] = long_name
            gas.attrs["coordinates"] = "longitude latitude"
        qa = product.create_variable(
            "qa_value", dims, "u1", data=np.where(valid, 100, 0).astype("u1")[None]
        )
        qa.attrs["scale_factor"] = np.float32(0.01)
        qa.attrs["add_offset"] = np.float32(0.0)

"""Sentinel-3 SLSTR Level-1 RBT products (``SL_1_RBT___``): a ``.SEN3`` folder as the real one.

The real product keeps each stripe on its own grid: the 500 m ``an`` grid (nadir, stripe
A) for the solar bands S1–S6 and the 1 km ``in`` grid (nadir, thermal) for S7–S9 and F2,
with F1 on the 1 km fire grid ``fn``. Written here, with the real files' names:

- ``S1_radiance_an.nc`` … ``S6_radiance_an.nc``: TOA radiance ``S{n}_radiance_an`` as
  uint16 counts with ``scale_factor`` (xarray decodes it), in mW m⁻² sr⁻¹ nm⁻¹;
- ``S{n}_quality_an.nc``: ``S{n}_solar_irradiance_an``, the band's solar irradiance per
  detector (the demo has one response: all detectors equal);
- ``S7_BT_in.nc``, ``S8_BT_in.nc``, ``S9_BT_in.nc``, ``F2_BT_in.nc``, ``F1_BT_fn.nc``:
  brightness temperature in K as int16 with scale 0.01 and offset 283.73, fill -32768;
- ``geodetic_an.nc``/``geodetic_in.nc``/``geodetic_fn.nc`` (``latitude_*``,
  ``longitude_*``), ``time_an.nc``/``time_in.nc`` (``time_stamp_a``/``time_stamp_i``);
- ``geometry_tn.nc``: ``solar_zenith_tn`` — on the ``an`` grid rather than the real
  product's coarse tie-point grid, so that the radiance converts back to reflectance
  pixel by pixel: ``ρ = π L / (E₀ cos θs)``;
- ``xfdumanifest.xml``.

The demo collection (``SENTINEL3_SLSTR``) serves S1–S6 as TOA reflectance; the radiance
written is ``ρ E₀ cos θs / π``, with θs at the demo's overpass time (10:00 local solar
time), so converting back gives ``load_collection``'s reflectance within half a count.
Oblique-view stripes (``ao``/``io``), cloud and confidence flags, and the B stripe are not
written: the demo world has no such data.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any, Final

import h5netcdf
import numpy as np

from .plan import ProductPlan
from .sen3 import write_geolocation, write_manifest, write_times

__all__ = ["BT_OFFSET", "BT_SCALE", "RADIANCE_SCALE", "SLSTR_AN", "SLSTR_IN", "SOLAR_IRRADIANCE", "write_counts", "write_grid", "write_slstr"]  # fmt: skip

#: Radiance per count (mW m⁻² sr⁻¹ nm⁻¹): 65534 counts reach 819, above any TOA radiance.
RADIANCE_SCALE: Final = 0.0125
BT_SCALE: Final = 0.01
BT_OFFSET: Final = 283.73
_FILL_U16: Final = 65535
_FILL_I16: Final = -32768
#: Band-integrated solar irradiance (mW m⁻² nm⁻¹) of the solar bands.
SOLAR_IRRADIANCE: Final = {
    "S1": 1837.39,
    "S2": 1525.94,
    "S3": 956.17,
    "S4": 365.90,
    "S5": 248.33,
    "S6": 78.33,
}
SLSTR_AN: Final = list(SOLAR_IRRADIANCE)
#: The thermal bands and the grid suffix of their file (F1 lies on the fire grid).
SLSTR_IN: Final = {"S7": "in", "S8": "in", "S9": "in", "F1": "fn", "F2": "in"}
_DETECTORS: Final = 4


def write_slstr(
    folder: Path, plan: ProductPlan, cube: dict[str, Any] | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>.SEN3/`` into ``folder``; ``cube`` ({"an": …, "in": …} cubes) None
    writes a zero template. ``shape`` is the ``an`` grid's, ``plan.extra["in_shape"]``
    the ``in`` grid's."""
    root = folder / plan.name
    root.mkdir()
    in_shape = tuple(plan.extra["in_shape"])
    assert len(in_shape) == 2
    an = cube["an"] if cube is not None else None
    tn = cube["in"] if cube is not None else None
    write_manifest(root, plan, shape, "SL_1_RBT___", "slstr/level-1")
    write_geolocation(root / "geodetic_an.nc", an, shape, ("latitude_an", "longitude_an"))
    for grid in ("in", "fn"):
        names = (f"latitude_{grid}", f"longitude_{grid}")
        write_geolocation(root / f"geodetic_{grid}.nc", tn, in_shape, names)
    write_times(root / "time_an.nc", plan, shape[0], an is None, "time_stamp_a")
    write_times(root / "time_in.nc", plan, in_shape[0], an is None, "time_stamp_i")

    if an is not None:
        # Imported here: the demo world pulls in dask, which importing the API must not.
        from eostation.data.demo.sentinel3 import solar_cos_zenith
        from eostation.data.demo.source import day_number

        lat = np.broadcast_to(np.asarray(an["y"].values, np.float64)[:, None], shape)
        cos_sza = solar_cos_zenith(lat, float(day_number(date.fromisoformat(plan.day))))
    else:
        cos_sza = np.ones(shape)
    sza = np.degrees(np.arccos(np.clip(cos_sza, -1.0, 1.0)))
    write_grid(root / "geometry_tn.nc", "solar_zenith_tn", sza.astype("f8"), {"units": "degrees"})
    for band, e0 in SOLAR_IRRADIANCE.items():
        radiance = None
        if an is not None:
            rho = np.asarray(an.sel(bands=band).isel(t=0).values, np.float64)
            radiance = rho * e0 * cos_sza / math.pi
        write_counts(
            root / f"{band}_radiance_an.nc",
            f"{band}_radiance_an",
            (radiance, shape),
            (np.uint16(_FILL_U16), (0, _FILL_U16 - 1)),
            (RADIANCE_SCALE, 0.0),
            {"units": "mW.m-2.sr-1.nm-1", "long_name": f"TOA radiance for channel {band}"},
        )
        with h5netcdf.File(root / f"{band}_quality_an.nc", "w") as nc:
            nc.dimensions = {"detectors": _DETECTORS}
            irr = nc.create_variable(
                f"{band}_solar_irradiance_an",
                ("detectors",),
                "f4",
                data=np.full(_DETECTORS, e0, "f4"),
            )
            irr.attrs["units"] = "mW.m-2.nm-1"
    for band, grid in SLSTR_IN.items():
        bt = None if tn is None else np.asarray(tn.sel(bands=band).isel(t=0).values, np.float64)
        write_counts(
            root / f"{band}_BT_{grid}.nc",
            f"{band}_BT_{grid}",
            (bt, in_shape),
            (np.int16(_FILL_I16), (-32767, 32767)),
            (BT_SCALE, BT_OFFSET),
            {"units": "K", "long_name": f"Gridded pixel brightness temperature for channel {band}"},
        )


def write_counts(
    path: Path,
    name: str,
    values: tuple[np.ndarray | None, tuple[int, ...]],
    fill: tuple[np.integer[Any], tuple[int, int]],
    scale: tuple[float, float],
    attrs: dict[str, Any],
) -> None:
    """Physical ``values`` (None: zeros of that shape, for a template) encoded as integer
    counts of ``fill``'s type, clipped to the valid range, NaN as the fill value."""
    physical, shape = values
    fill_value, (lo, hi) = fill
    data = np.zeros(shape, fill_value.dtype)
    if physical is not None:
        counts = np.clip(np.round((physical - scale[1]) / scale[0]), lo, hi)
        data = np.where(np.isnan(physical), fill_value, counts).astype(fill_value.dtype)
    write_grid(path, name, data, attrs, fill=fill_value, scale=scale)


def write_grid(
    path: Path,
    name: str,
    data: np.ndarray,
    attrs: dict[str, Any],
    fill: np.generic | None = None,
    scale: tuple[float, float] | None = None,
) -> None:
    """One ``rows`` × ``columns`` variable in the netCDF file ``path`` (added to the file
    when it exists: products that keep several variables in one file)."""
    with h5netcdf.File(path, "a" if path.exists() else "w") as nc:
        if "rows" not in nc.dimensions:
            nc.dimensions = {"rows": data.shape[0], "columns": data.shape[1]}
        var = nc.create_variable(name, ("rows", "columns"), data.dtype, data=data, fillvalue=fill)
        if scale is not None:
            var.attrs["scale_factor"], var.attrs["add_offset"] = scale
        for key, value in attrs.items():
            var.attrs[key] = value

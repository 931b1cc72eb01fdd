"""Sentinel-3 OLCI Level-1 EFR products: a ``.SEN3`` folder as the real product lays it out.

``Oa01_radiance.nc`` … ``Oa21_radiance.nc`` hold TOA radiance as uint16 counts with a
``scale_factor`` (the product's own calibration: xarray decodes it), ``geo_coordinates.nc``
the latitude and longitude of every pixel (int32 micro-degrees, scaled as in the real
product), ``time_coordinates.nc`` the time of each row, ``xfdumanifest.xml`` the product
metadata. Rows and columns are those of the demo grid, so decoded radiances equal
``load_collection`` at the same pixel centres within half a count (``RADIANCE_SCALE/2``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

import h5netcdf
import numpy as np
import xarray as xr

from .plan import ProductPlan

__all__ = ["RADIANCE_SCALE", "write_olci"]

#: Radiance per count (mW m⁻² sr⁻¹ nm⁻¹): 65534 counts reach 819, above any TOA radiance.
RADIANCE_SCALE: Final = 0.0125
_FILL_U16: Final = 65535
_EPOCH_2000: Final = datetime(2000, 1, 1)
_MANIFEST: Final = """<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:sentinel3="http://www.esa.int/safe/sentinel/sentinel-3/1.0" xmlns:gml="http://www.opengis.net/gml" version="esa/safe/sentinel/sentinel-3/olci/level-1">
  <metadataSection>
    <metadataObject ID="generalProductInformation">
      <sentinel3:generalProductInformation>
        <sentinel3:productName>{name}</sentinel3:productName>
        <sentinel3:productType>OL_1_EFR___</sentinel3:productType>
        <sentinel3:timeliness>NT</sentinel3:timeliness>
        <sentinel3:productSize>{rows:06d}x{columns:06d}</sentinel3:productSize>
      </sentinel3:generalProductInformation>
    </metadataObject>
    <metadataObject ID="acquisitionPeriod">
      <sentinel3:startTime>{start}</sentinel3:startTime>
      <sentinel3:stopTime>{end}</sentinel3:stopTime>
    </metadataObject>
    <metadataObject ID="measurementFrameSet">
      <gml:posList>{pos}</gml:posList>
    </metadataObject>
    <metadataObject ID="processing">
      <sentinel3:facility name="eostation demo world (synthetic data)"/>
    </metadataObject>
  </metadataSection>
</xfdu:XFDU>
"""


def _fixed(value: float) -> str:
    # Fixed width, so the manifest of a product and of its template have one size.
    return f"{value:+011.6f}"


def write_olci(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>.SEN3/`` into ``folder``; ``cube`` None writes a zero template."""
    root = folder / plan.name
    root.mkdir()
    rows, columns = shape
    w, s, e, n = plan.bbox
    pos = " ".join(_fixed(v) for v in (n, w, n, e, s, e, s, w, n, w))
    manifest = _MANIFEST.format(
        name=plan.name, rows=rows, columns=columns, start=plan.start, end=plan.end, pos=pos
    )
    (root / "xfdumanifest.xml").write_text(manifest, encoding="utf-8")
    if cube is not None:
        lat = np.broadcast_to(np.asarray(cube["y"].values)[:, None], shape)
        lon = np.broadcast_to(np.asarray(cube["x"].values)[None, :], shape)
    else:
        lat = lon = np.zeros(shape)
    dims = ("rows", "columns")
    with h5netcdf.File(root / "geo_coordinates.nc", "w") as nc:
        nc.dimensions = {"rows": rows, "columns": columns}
        for name, values, unit in (
            ("latitude", lat, "degrees_north"),
            ("longitude", lon, "degrees_east"),
        ):
            var = nc.create_variable(
                name,
                dims,
                "i4",
                data=np.round(values * 1e6).astype("i4"),
                fillvalue=np.int32(-2147483648),
            )
            var.attrs["scale_factor"] = 1e-6
            var.attrs["add_offset"] = 0.0
            var.attrs["units"] = unit
    start = datetime.fromisoformat(plan.start.rstrip("Z"))
    end = datetime.fromisoformat(plan.end.rstrip("Z"))
    with h5netcdf.File(root / "time_coordinates.nc", "w") as nc:
        nc.dimensions = {"rows": rows}
        t0 = (start - _EPOCH_2000).total_seconds() * 1e6
        t1 = (end - _EPOCH_2000).total_seconds() * 1e6
        stamps = (
            np.linspace(t0, t1, rows).astype("i8") if cube is not None else np.zeros(rows, "i8")
        )
        var = nc.create_variable("time_stamp", ("rows",), "i8", data=stamps)
        var.attrs["units"] = "microseconds since 2000-01-01 00:00:00"
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

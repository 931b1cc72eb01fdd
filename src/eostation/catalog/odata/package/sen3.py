"""The parts every Sentinel-3 ``.SEN3`` folder shares: the manifest, geolocation and times.

The OLCI (:mod:`.olci`), SLSTR (:mod:`.slstr`) and SYN (:mod:`.syn`) writers lay out their own measurement files
and take these from here. Every value is written at a fixed width or in a fixed-size
netCDF variable, so a product and its zero template (``cube`` None) have the same size.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

import h5netcdf
import numpy as np
import xarray as xr

from .plan import ProductPlan

__all__ = ["write_geolocation", "write_manifest", "write_times"]

_EPOCH_2000: Final = datetime(2000, 1, 1)
_MANIFEST: Final = """<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:sentinel3="http://www.esa.int/safe/sentinel/sentinel-3/1.0" xmlns:gml="http://www.opengis.net/gml" version="esa/safe/sentinel/sentinel-3/{family}">
  <metadataSection>
    <metadataObject ID="generalProductInformation">
      <sentinel3:generalProductInformation>
        <sentinel3:productName>{name}</sentinel3:productName>
        <sentinel3:productType>{product_type}</sentinel3:productType>
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


def write_manifest(
    root: Path, plan: ProductPlan, shape: tuple[int, int], product_type: str, family: str
) -> None:
    """``xfdumanifest.xml``: name, type (e.g. ``OL_1_EFR___``), size, period, footprint."""
    rows, columns = shape
    w, s, e, n = plan.bbox
    pos = " ".join(_fixed(v) for v in (n, w, n, e, s, e, s, w, n, w))
    manifest = _MANIFEST.format(
        family=family,
        name=plan.name,
        product_type=product_type,
        rows=rows,
        columns=columns,
        start=plan.start,
        end=plan.end,
        pos=pos,
    )
    (root / "xfdumanifest.xml").write_text(manifest, encoding="utf-8")


def write_geolocation(
    path: Path, cube: xr.DataArray | None, shape: tuple[int, int], names: tuple[str, str]
) -> None:
    """Latitude and longitude of every pixel (int32 micro-degrees, scaled as in the real
    products) under ``names`` (latitude, longitude) in the netCDF file ``path``."""
    rows, columns = shape
    if cube is not None:
        lat = np.broadcast_to(np.asarray(cube["y"].values)[:, None], shape)
        lon = np.broadcast_to(np.asarray(cube["x"].values)[None, :], shape)
    else:
        lat = lon = np.zeros(shape)
    with h5netcdf.File(path, "w") as nc:
        nc.dimensions = {"rows": rows, "columns": columns}
        for name, values, unit in (
            (names[0], lat, "degrees_north"),
            (names[1], lon, "degrees_east"),
        ):
            var = nc.create_variable(
                name,
                ("rows", "columns"),
                "i4",
                data=np.round(values * 1e6).astype("i4"),
                fillvalue=np.int32(-2147483648),
            )
            var.attrs["scale_factor"] = 1e-6
            var.attrs["add_offset"] = 0.0
            var.attrs["units"] = unit


def write_times(
    path: Path, plan: ProductPlan, rows: int, template: bool, variable: str = "time_stamp"
) -> None:
    """The acquisition time of each row (microseconds since 2000-01-01, as S3 writes it)
    in the netCDF variable ``variable``."""
    start = datetime.fromisoformat(plan.start.rstrip("Z"))
    end = datetime.fromisoformat(plan.end.rstrip("Z"))
    with h5netcdf.File(path, "w") as nc:
        nc.dimensions = {"rows": rows}
        t0 = (start - _EPOCH_2000).total_seconds() * 1e6
        t1 = (end - _EPOCH_2000).total_seconds() * 1e6
        stamps = np.zeros(rows, "i8") if template else np.linspace(t0, t1, rows).astype("i8")
        var = nc.create_variable(variable, ("rows",), "i8", data=stamps)
        var.attrs["units"] = "microseconds since 2000-01-01 00:00:00"

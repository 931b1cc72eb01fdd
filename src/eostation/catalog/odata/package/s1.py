"""Sentinel-1 IW GRD products: a ``.SAFE`` folder with GeoTIFF measurements located by GCPs.

``measurement/s1?-iw-grd-{vv,vh}-….tiff`` hold uint16 digital numbers on the demo
grid's rows (lines) and columns (samples), located by an 11×11 lattice of ground control
points in EPSG:4326 rather than a geotransform, as GRD measurements are;
``annotation/calibration/calibration-….xml`` holds the ``sigmaNought`` calibration
constant. The product's own calibration gives back σ⁰ = DN² / sigmaNought², within one
count of the demo world's linear σ⁰ (``load_collection``), i.e. a relative error of at
most about 2/DN. ``manifest.safe`` and a product annotation complete the folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
import xarray as xr
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from .plan import ProductPlan

__all__ = ["SIGMA_NOUGHT", "measurement_names", "write_s1"]

#: The calibration constant: σ⁰ = DN² / SIGMA_NOUGHT² (IW GRDH products use ~500–700).
SIGMA_NOUGHT: Final = 600.0
_NAME: Final = re.compile(
    r"^(S1[A-D])_IW_GRD[HM]_1S[DS][VH]_(\d{8}T\d{6})_(\d{8}T\d{6})_(\d{6})_([0-9A-F]{6})_"
)
_LATTICE: Final = 11
_MANIFEST: Final = """<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0" version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/standard/iwgrdh">
  <metadataSection>
    <metadataObject ID="generalProductInformation">
      <safe:productName>{name}</safe:productName>
      <safe:productType>GRD</safe:productType>
      <safe:instrumentMode>IW</safe:instrumentMode>
      <safe:startTime>{start}</safe:startTime>
      <safe:stopTime>{end}</safe:stopTime>
      <safe:size>{rows:06d}x{columns:06d}</safe:size>
      <safe:facility name="eostation demo world (synthetic data)"/>
    </metadataObject>
  </metadataSection>
  <dataObjectSection>
{objects}
  </dataObjectSection>
</xfdu:XFDU>
"""
_CALIBRATION: Final = """<?xml version="1.0" encoding="UTF-8"?>
<calibration>
  <adsHeader><polarisation>{pol}</polarisation><startTime>{start}</startTime></adsHeader>
  <calibrationVectorList count="1">
    <calibrationVector>
      <line>0</line>
      <pixel count="2">0 {last:06d}</pixel>
      <sigmaNought count="2">{k:.6e} {k:.6e}</sigmaNought>
    </calibrationVector>
  </calibrationVectorList>
</calibration>
"""


def measurement_names(name: str) -> dict[str, str]:
    """Base names (no suffix) of the VV and VH measurement files of a product name."""
    match = _NAME.match(name)
    unit, start, stop, orbit, datatake = (
        match.groups()
        if match
        else ("S1A", "19700101T000000", "19700101T000000", "000000", "000000")
    )
    stem = f"{unit.lower()}-iw-grd-{{pol}}-{start.lower()}-{stop.lower()}-{orbit}-{datatake.lower()}-{{n}}"
    return {pol: stem.format(pol=pol.lower(), n=f"{n:03d}") for n, pol in ((1, "VV"), (2, "VH"))}


def _gcps(cube: xr.DataArray | None, shape: tuple[int, int]) -> list[GroundControlPoint]:
    rows, columns = shape
    lines = np.linspace(0, rows - 1, _LATTICE).round().astype(int)
    samples = np.linspace(0, columns - 1, _LATTICE).round().astype(int)
    if cube is not None:
        to_lonlat = Transformer.from_crs(cube.odc.crs, 4326, always_xy=True)
        ys, xs = cube["y"].values, cube["x"].values
    out = []
    for line in lines:
        for sample in samples:
            lon, lat = (
                to_lonlat.transform(float(xs[sample]), float(ys[line]))
                if cube is not None
                else (0.0, 0.0)
            )
            # GCPs name pixel centres, as the demo grid's coordinates do.
            out.append(GroundControlPoint(row=line + 0.5, col=sample + 0.5, x=lon, y=lat, z=0.0))
    return out


def write_s1(
    folder: Path, plan: ProductPlan, cube: xr.DataArray | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>.SAFE/`` into ``folder``; ``cube`` None writes a zero template."""
    root = folder / plan.name
    (root / "measurement").mkdir(parents=True)
    (root / "annotation" / "calibration").mkdir(parents=True)
    rows, columns = shape
    gcps = _gcps(cube, shape)
    objects = []
    for pol, base in measurement_names(plan.name).items():
        if cube is not None:
            sigma0 = np.asarray(cube.sel(bands=pol).isel(t=0).values, dtype=np.float64)
            counts = np.clip(np.round(np.sqrt(np.maximum(sigma0, 0.0)) * SIGMA_NOUGHT), 1, 65535)
            dn = np.where(np.isnan(sigma0), 0, counts).astype("u2")  # 0: no data, as in GRD
        else:
            dn = np.zeros(shape, "u2")
        profile = {
            "driver": "GTiff",
            "width": columns,
            "height": rows,
            "count": 1,
            "dtype": "uint16",
        }
        target = root / "measurement" / f"{base}.tiff"
        with rasterio.open(target, "w", gcps=gcps, crs=CRS.from_epsg(4326), **profile) as dst:
            dst.write(dn, 1)
        calibration = _CALIBRATION.format(
            pol=pol, start=plan.start, last=columns - 1, k=SIGMA_NOUGHT
        )
        (root / "annotation" / "calibration" / f"calibration-{base}.xml").write_text(calibration)
        annotation = f'<?xml version="1.0" encoding="UTF-8"?>\n<product><polarisation>{pol}</polarisation><numberOfLines>{rows:06d}</numberOfLines><numberOfSamples>{columns:06d}</numberOfSamples></product>\n'
        (root / "annotation" / f"{base}.xml").write_text(annotation)
        objects.append(f'    <dataObject ID="measurement{pol}" href="./measurement/{base}.tiff"/>')
    manifest = _MANIFEST.format(
        name=plan.name,
        start=plan.start,
        end=plan.end,
        rows=rows,
        columns=columns,
        objects="\n".join(objects),
    )
    (root / "manifest.safe").write_text(manifest, encoding="utf-8")

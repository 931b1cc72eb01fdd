"""Sentinel-2 L2A products: a ``.SAFE`` folder that GDAL's ``SENTINEL2`` driver opens.

``MTD_MSIL2A.xml`` lists the band files, ``GRANULE/L2A_T<tile>_…/MTD_TL.xml`` holds the
tile geocoding, ``IMG_DATA/R10m|R20m|R60m/T<tile>_<time>_<band>_<res>.jp2`` the bands as
lossless JPEG 2000 (OpenJPEG, ``REVERSIBLE=YES``: rasterio's wheels write it) in uint16
digital numbers, rendered on the tile's own lattice (UTM, anchored on the tile corner),
so a pixel holds exactly the DN that ``load_collection`` gives at that pixel, plus 1000
in the reflectance bands of processing baseline 04.00 and later, whose
``MTD_MSIL2A.xml`` states ``BOA_ADD_OFFSET`` −1000 as a real product's does. JPEG 2000
sizes depend on the pixels; each file is padded with a trailing ``free`` box to a size
fixed by its shape, which keeps the zip's size computable before the product exists.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import rasterio
from rasterio.transform import from_origin

from .plan import ProductPlan

__all__ = ["RESOLUTIONS", "jp2_size", "write_s2"]

#: Bands written per resolution (what the L2A product carries, minus TCI and the
#: 20 m/60 m resamplings of the 10 m bands).
RESOLUTIONS: Final[dict[int, tuple[str, ...]]] = {
    10: ("B02", "B03", "B04", "B08", "AOT", "WVP"),
    20: ("B05", "B06", "B07", "B8A", "B11", "B12", "SCL"),
    60: ("B01", "B09"),
}
_MTD: Final = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{end}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>{name}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="eostation-demo">
        <SPACECRAFT_NAME>Sentinel-2{unit}</SPACECRAFT_NAME>
        <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
      <Query_Options completeSingleTile="true"><PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT></Query_Options>
      <Product_Organisation>
        <Granule_List>
          <Granule granuleIdentifier="{granule}" imageFormat="JPEG2000">
{files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>{offsets}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-2A_User_Product>
"""
_TL: Final = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
  <n1:General_Info><SENSING_TIME>{start}</SENSING_TIME></n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding>
      <HORIZONTAL_CS_CODE>EPSG:{epsg}</HORIZONTAL_CS_CODE>
{sizes}
    </Tile_Geocoding>
  </n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
"""


def _offsets(baseline: str) -> str:
    """The ``BOA_ADD_OFFSET_VALUES_LIST`` of a baseline (none before 04.00)."""
    if baseline < "04.00":
        return ""
    values = "".join(
        f'\n        <BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13)
    )
    return f"\n      <BOA_ADD_OFFSET_VALUES_LIST>{values}\n      </BOA_ADD_OFFSET_VALUES_LIST>"


def jp2_size(ny: int, nx: int) -> int:
    """The padded size of a uint16 JPEG 2000 band file of ``ny`` × ``nx`` pixels."""
    # Lossless JPEG 2000 of noisy 16-bit data stays below the raw size plus headers.
    return int(ny * nx * 2 * 1.25) + 16_384


def _pad(path: Path, size: int) -> None:
    actual = path.stat().st_size
    if actual + 8 > size:
        raise ValueError(f"{path.name}: {actual} bytes, more than its budget of {size}")
    with path.open("ab") as out:
        out.write(struct.pack(">I4s", size - actual, b"free") + bytes(size - actual - 8))


def granule_name(plan: ProductPlan) -> str:
    """``L2A_T32TPS_A<orbit>_<time>`` from the product name's fields."""
    parts = plan.name.removesuffix(".SAFE").split("_")  # S2B MSIL2A <t> N0509 R022 T32TPS <t>
    orbit = int(plan.extra.get("absolute_orbit", 0))
    return f"L2A_{parts[5]}_A{orbit:06d}_{parts[6]}"


def band_path(plan: ProductPlan, band: str, res: int) -> str:
    """Path of a band file in the SAFE, without ``.jp2`` (as ``IMAGE_FILE`` lists it)."""
    parts = plan.name.removesuffix(".SAFE").split("_")
    return f"GRANULE/{granule_name(plan)}/IMG_DATA/R{res}m/{parts[5]}_{parts[2]}_{band}_{res}m"


def write_s2(
    folder: Path, plan: ProductPlan, bands: Mapping[str, Any] | None, shape: tuple[int, int]
) -> None:
    """Write ``<name>`` (a .SAFE folder) into ``folder``; ``bands`` None writes a template.

    ``bands`` maps a band name to its uint16-able array at the band's resolution;
    ``shape`` is the 10 m window, a multiple of 6 pixels.
    """
    root = folder / plan.name
    epsg, ulx, uly = int(plan.extra["epsg"]), float(plan.extra["ulx"]), float(plan.extra["uly"])
    files, sizes = [], []
    for res, names in RESOLUTIONS.items():
        ny, nx = shape[0] * 10 // res, shape[1] * 10 // res
        sizes.append(
            f'      <Size resolution="{res}"><NROWS>{ny}</NROWS><NCOLS>{nx}</NCOLS></Size>\n'
            f'      <Geoposition resolution="{res}"><ULX>{ulx:.0f}</ULX><ULY>{uly:.0f}</ULY>'
            f"<XDIM>{res}</XDIM><YDIM>-{res}</YDIM></Geoposition>"
        )
        for band in names:
            relative = band_path(plan, band, res)
            files.append(f"            <IMAGE_FILE>{relative}</IMAGE_FILE>")
            target = root / f"{relative}.jp2"
            target.parent.mkdir(parents=True, exist_ok=True)
            values = np.zeros((ny, nx)) if bands is None else np.asarray(bands[band])
            data = np.where(np.isnan(values), 0, values).astype("u2")
            profile = {
                "driver": "JP2OpenJPEG",
                "width": nx,
                "height": ny,
                "count": 1,
                "dtype": "uint16",
                "crs": f"EPSG:{epsg}",
                "transform": from_origin(ulx, uly, res, res),
            }
            with rasterio.open(target, "w", QUALITY=100, REVERSIBLE="YES", **profile) as dst:
                dst.write(data, 1)
            _pad(target, jp2_size(ny, nx))
    unit = plan.name[2]
    number = plan.name.split("_")[3]  # N0400
    baseline = f"{number[1:3]}.{number[3:5]}"
    (root / "MTD_MSIL2A.xml").write_text(
        _MTD.format(
            start=plan.start,
            end=plan.end,
            name=plan.name,
            unit=unit,
            granule=granule_name(plan),
            files="\n".join(files),
            baseline=baseline,
            offsets=_offsets(baseline),
        ),
        encoding="utf-8",
    )
    tile = root / "GRANULE" / granule_name(plan) / "MTD_TL.xml"
    tile.write_text(
        _TL.format(start=plan.start, epsg=epsg, sizes="\n".join(sizes)), encoding="utf-8"
    )

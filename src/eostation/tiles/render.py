"""Render one Web Mercator tile (XYZ scheme, 256 × 256 pixels) of a raster file as PNG.

The file may be in any CRS: GDAL warps the part under the tile to EPSG:3857 (a
``WarpedVRT`` sized to the tile, so only the pixels the tile needs are read). One band
is drawn through a colour ramp, three bands as red, green and blue; each band is
stretched linearly between bounds taken from its statistics (the ``STATISTICS_*`` tags
that eostation's GeoTIFF writer stores) unless the caller gives them. Missing values
and the area outside the file are transparent.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT

from eostation.errors import RequestInvalid

__all__ = [
    "COLORMAPS",
    "TILE_SIZE",
    "Style",
    "band_statistics",
    "colormap",
    "render_tile",
    "tile_bounds",
]

TILE_SIZE: Final = 256
#: Half the side of the Web Mercator square, in metres.
_HALF: Final = math.pi * 6378137.0
COLORMAPS: Final = ("viridis", "greys", "magma", "rdylgn", "terrain", "blues")
_MPL_NAMES: Final = {"greys": "gray", "rdylgn": "RdYlGn"}


@dataclass(frozen=True)
class Style:
    """How values become colours: which bands (1-based), the ramp, and optional bounds."""

    bands: tuple[int, ...] = (1,)
    colormap: str = "viridis"
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    stretch: str = "minmax"  # or "stddev": mean ± 2 standard deviations, within min–max

    def __post_init__(self) -> None:
        if len(self.bands) not in (1, 3):
            raise RequestInvalid(reason="'bands' takes one band (colour ramp) or three (RGB)")
        if self.colormap not in COLORMAPS:
            raise RequestInvalid(reason=f"'colormap' must be one of {', '.join(COLORMAPS)}")
        if self.stretch not in ("minmax", "stddev"):
            raise RequestInvalid(reason="'stretch' must be 'minmax' or 'stddev'")
        for name, value in (("min", self.low), ("max", self.high)):
            if value is not None and len(value) not in (1, len(self.bands)):
                raise RequestInvalid(reason=f"'{name}' needs one value or one per band")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of XYZ tile ``z/x/y`` in EPSG:3857 metres."""
    if not 0 <= z <= 24 or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise RequestInvalid(reason=f"tile {z}/{x}/{y} does not exist (0 ≤ x, y < 2^z, z ≤ 24)")
    size = 2 * _HALF / 2**z
    west = -_HALF + x * size
    north = _HALF - y * size
    return west, north - size, west + size, north


@cache
def colormap(name: str) -> np.ndarray[Any, Any]:
    """The ramp ``name`` as a ``(256, 3)`` uint8 lookup table."""
    # Imported here: matplotlib is heavy and only tiles and quicklooks need its ramps.
    import matplotlib

    ramp = matplotlib.colormaps[_MPL_NAMES.get(name, name)]
    return np.asarray(ramp(np.linspace(0, 1, 256))[:, :3] * 255 + 0.5, dtype="uint8")


def band_statistics(dataset: Any, band: int) -> dict[str, float]:
    """The ``STATISTICS_*`` tags of a band as numbers (empty when the file has none)."""
    out = {}
    for key, value in dataset.tags(band).items():
        if key.startswith("STATISTICS_"):
            try:
                out[key.removeprefix("STATISTICS_").lower()] = float(value)
            except ValueError:
                continue
    return out


def _bounds(dataset: Any, style: Style) -> tuple[list[float], list[float]]:
    lows, highs = [], []
    for i, band in enumerate(style.bands):
        stats = band_statistics(dataset, band)
        if "minimum" not in stats or "maximum" not in stats:
            # No tags (a file from elsewhere): GDAL computes them from an overview.
            lo, hi, mean, std = dataset.statistics(band, approx=True)
            stats = {"minimum": lo, "maximum": hi, "mean": mean, "stddev": std}
        lo, hi = stats["minimum"], stats["maximum"]
        if style.stretch == "stddev" and "mean" in stats and "stddev" in stats:
            lo = max(lo, stats["mean"] - 2 * stats["stddev"])
            hi = min(hi, stats["mean"] + 2 * stats["stddev"])
        if style.low is not None:
            lo = style.low[i if len(style.low) > 1 else 0]
        if style.high is not None:
            hi = style.high[i if len(style.high) > 1 else 0]
        lows.append(lo)
        highs.append(hi)
    return lows, highs


def render_tile(path: Path, z: int, x: int, y: int, style: Style) -> bytes:
    """The PNG of tile ``z/x/y`` of the raster file at ``path``, drawn with ``style``."""
    west, south, east, north = tile_bounds(z, x, y)
    transform = from_bounds(west, south, east, north, TILE_SIZE, TILE_SIZE)
    with rasterio.open(path) as src:
        if src.crs is None:
            raise RequestInvalid(reason=f"'{path.name}' has no coordinate reference system")
        missing = [b for b in style.bands if not 1 <= b <= src.count]
        if missing:
            raise RequestInvalid(reason=f"'{path.name}' has bands 1–{src.count}, not {missing}")
        lows, highs = _bounds(src, style)
        with WarpedVRT(
            src,
            crs="EPSG:3857",
            transform=transform,
            width=TILE_SIZE,
            height=TILE_SIZE,
            resampling=Resampling.nearest,
            src_nodata=src.nodata,
            nodata=np.nan,
            dtype="float64",
        ) as vrt:
            values = vrt.read(list(style.bands)).astype("float64")
    # Imported here: the PNG writer's module pulls in odc-geo and dask, which the API
    # process must not load at import time (tests/test_imports.py).
    from eostation.formats.png import to_8bit

    valid = np.isfinite(values).all(axis=0)
    scaled = to_8bit(values, lows, highs)
    if len(style.bands) == 1:
        rgb = colormap(style.colormap)[scaled[0]]
    else:
        rgb = np.moveaxis(scaled, 0, -1)
    alpha = np.where(valid, 255, 0).astype("uint8")
    image = np.concatenate([rgb, alpha[..., None]], axis=-1)
    out = io.BytesIO()
    Image.fromarray(image, mode="RGBA").save(out, format="PNG")
    return out.getvalue()

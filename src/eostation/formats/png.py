"""PNG output: a quick-look image of a one-date raster cube, greyscale or RGB."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from eostation.errors import FormatUnsuitable
from eostation.formats.cubes import grid_fields, raster_layers
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.writer import Writer

__all__ = ["PNGWriter", "to_8bit"]

_MAX_PIXELS = 100_000_000
_BOUND = {"type": ["number", "array", "null"], "items": {"type": "number"}}


def _per_band(value: Any, count: int, option: str) -> np.ndarray[Any, Any] | None:
    if value is None:
        return None
    arr = np.atleast_1d(np.asarray(value, dtype="float64"))
    if arr.size == 1:
        return np.repeat(arr, count)
    if arr.size != count:
        raise FormatUnsuitable(
            format="PNG", reason=f"option '{option}' has {arr.size} values for {count} bands"
        )
    return arr


def to_8bit(
    values: np.ndarray[Any, Any],
    low: Any = None,
    high: Any = None,
    percent_clip: float | None = None,
) -> np.ndarray[Any, Any]:
    """Scale ``(bands, y, x)`` values linearly to 0–255 per band, clipping outside ``[low, high]``.

    Missing bounds come from the data: its ``percent_clip`` and ``100 - percent_clip``
    percentiles (minimum and maximum when ``percent_clip`` is None or 0). NaN becomes 0.
    """
    count = values.shape[0]
    lo = _per_band(low, count, "min")
    hi = _per_band(high, count, "max")
    q = percent_clip or 0.0
    out = np.zeros(values.shape, dtype="uint8")
    for b in range(count):
        band = values[b].astype("float64")
        valid = band[np.isfinite(band)]
        if valid.size == 0:
            continue
        b_lo = lo[b] if lo is not None else float(np.percentile(valid, q))
        b_hi = hi[b] if hi is not None else float(np.percentile(valid, 100 - q))
        span = b_hi - b_lo
        scaled = (band - b_lo) / span * 255 if span > 0 else np.zeros_like(band)
        out[b] = np.rint(np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255)).astype("uint8")
    return out


class PNGWriter(Writer):
    """PNG quick-look: 1 band greyscale or 3 bands RGB, one date, scaled to 8 bits."""

    name: ClassVar[str] = "PNG"
    title: ClassVar[str] = "Portable Network Graphics"
    description: ClassVar[str] = (
        "`openEO.png`, an 8-bit image of a raster cube with one band (greyscale) or three "
        "bands (red, green, blue in band order) and at most one date. Values are scaled "
        "linearly from `min`–`max` (per band when a list) to 0–255; bounds not given come "
        "from the data (its `percent_clip` percentiles, else its minimum and maximum); 8-bit "
        "data without options is written unscaled. Missing values are transparent."
    )
    media_type: ClassVar[str] = "image/png"
    gis_data_types: ClassVar[tuple[str, ...]] = ("raster",)
    options: ClassVar[dict[str, Option]] = {
        "min": Option("Value shown as 0 (black); one number or one per band.", _BOUND),
        "max": Option("Value shown as 255 (white); one number or one per band.", _BOUND),
        "percent_clip": Option(
            "Percentage of pixels clipped at each end when `min`/`max` come from the data.",
            {"type": ["number", "null"], "minimum": 0, "maximum": 49},
        ),
        "filename_prefix": FILENAME_PREFIX,
    }
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {"href": "https://www.w3.org/TR/png/", "rel": "about", "title": "PNG specification"},
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        layers = list(raster_layers(data, self.name))
        if len(layers) > 1:
            raise FormatUnsuitable(
                format=self.name,
                reason=f"one image holds one date, the cube has {len(layers)}; reduce or "
                "filter the t dimension, or use GTiff",
            )
        [layer] = layers
        count, height, width = layer.data.shape
        if count not in (1, 3):
            raise FormatUnsuitable(
                format=self.name,
                reason=f"an image has 1 (grey) or 3 (RGB) bands, the cube has {count}; "
                "use filter_bands",
            )
        if height * width > _MAX_PIXELS:
            raise FormatUnsuitable(
                format=self.name, reason=f"{width}×{height} pixels is too large for a PNG"
            )
        values = np.asarray(layer.data.values)
        if values.dtype.kind not in "biuf":
            raise FormatUnsuitable(format=self.name, reason=f"values of type {values.dtype}")
        unscaled = values.dtype == np.uint8 and all(
            options[k] is None for k in ("min", "max", "percent_clip")
        )
        pixels = (
            values
            if unscaled
            else to_8bit(values, options["min"], options["max"], options["percent_clip"])
        )
        channels = list(pixels)
        missing = ~np.isfinite(values).all(axis=0) if values.dtype.kind == "f" else None
        if missing is not None and missing.any():
            channels.append(np.where(missing, 0, 255).astype("uint8"))
        image = np.stack(channels, axis=-1)
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[image.shape[-1]]
        path = directory / f"{file_prefix(self.name, options)}.png"
        Image.fromarray(image[..., 0] if mode == "L" else image, mode=mode).save(path)
        return [
            OutputFile(
                path=path,
                media_type=self.media_type,
                roles=("data", "visual"),
                datetime=layer.datetime,
                bands=layer.bands,
                **grid_fields(layer.geobox),
            )
        ]

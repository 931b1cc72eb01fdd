"""Per-band statistics gathered while a raster is written, in one pass.

The openEO Web Editor (and QGIS) stretch a GeoTIFF by the band statistics in its
metadata (``STATISTICS_MINIMUM`` …); without them the map stays empty until the user
types a range. Writers feed every block they write to :class:`BandStatistics`, which
merges per-block counts, means and squared deviations (Chan et al.'s pairwise update,
stable where a running sum of squares is not), so no second pass over the data is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BandStatistics"]


@dataclass
class _Moments:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def merge(self, values: np.ndarray[Any, Any]) -> None:
        n = int(values.size)
        if n == 0:
            return
        values = values.astype(np.float64, copy=False)
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))


@dataclass
class BandStatistics:
    """Running statistics of ``bands`` bands; values equal to ``nodata`` or NaN are skipped."""

    bands: int
    nodata: float | None = None
    pixels: int = 0
    _moments: list[_Moments] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._moments = [_Moments() for _ in range(self.bands)]

    def add(self, block: np.ndarray[Any, Any], first_band: int = 0) -> None:
        """Account for a ``(bands, rows, cols)`` block starting at band ``first_band``."""
        if first_band == 0:
            self.pixels += int(block[0].size) if block.shape[0] else 0
        for i in range(block.shape[0]):
            values = np.asarray(block[i]).ravel()
            valid = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
            if self.nodata is not None and not math.isnan(self.nodata):
                valid &= values != self.nodata
            self._moments[first_band + i].merge(values[valid])

    def summary(self, band: int) -> dict[str, float] | None:
        """``{minimum, maximum, mean, stddev, valid_percent}`` of a band (None: no valid value)."""
        m = self._moments[band]
        if m.count == 0:
            return None
        return {
            "minimum": m.minimum,
            "maximum": m.maximum,
            "mean": m.mean,
            "stddev": math.sqrt(m.m2 / m.count),
            "valid_percent": 100.0 * m.count / self.pixels if self.pixels else 0.0,
        }

    def gdal_tags(self, band: int) -> dict[str, str]:
        """The band's GDAL metadata items (``STATISTICS_*``), empty without valid values."""
        found = self.summary(band)
        if found is None:
            return {}
        return {f"STATISTICS_{k.upper()}": repr(float(v)) for k, v in found.items()}

"""SENTINEL2_L2A: synthetic Sentinel-2 MSI Level-2A surface reflectance.

- Operating period from 2017-03-28, when ESA began global systematic Level-2A
  production. Acquisitions follow the real orbits (:mod:`.orbits`): Sentinel-2A and 2B
  (from 2017-07-06; 2C in 2A's place from 2025-01-21) 180° apart on the 143 relative
  orbits of the 10-day cycle, descending at 10:30 local solar time, swath 290 km. So
  the revisit is 5 days at the equator and 2–3 days where neighbouring swaths overlap
  (about half the ground at 46° N). Labelled by day at 00:00 UTC; ``datetime``,
  ``platform`` and the ``sat:`` orbit properties of each scene are in its metadata.
- One grid per load: the UTM zone of the bbox centre at 10 m. The 20 m and 60 m bands
  are rendered on that grid too (their native ``gsd`` is in the metadata).
- Reflectances are harmonised DN, ``reflectance = DN × 0.0001`` on every date, as CDSE's
  openEO ``SENTINEL2_L2A`` serves them (Sentinel Hub's ``harmonizeValues``): the
  ``BOA_ADD_OFFSET`` of −1000 that products of processing baseline 04.00 and later
  (acquisitions from 2022-01-25) carry in their DN is removed. :func:`boa_add_offset`
  gives the DN a product file of a date holds in addition (the OData SAFE products).
- SCL follows the reflectances: 3 cloud shadow, 4 vegetation, 5 not vegetated, 6 water,
  7 unclassified, 8/9 cloud medium/high probability, 10 thin cirrus, 11 snow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import numpy as np

from ..bands import Band
from . import optical
from .grid import Tile
from .noise import normal, seed_of
from .source import Acquisition, UtmGridSource, day_number, orbit_acquisitions

__all__ = ["Sentinel2L2A", "boa_add_offset"]

_BASELINE_0400 = day_number(date(2022, 1, 25))
_TRACKS = 143
_ATMOS = seed_of("s2-atmosphere")


def _refl(name: str, common: str, um: float, fwhm: float, gsd: float) -> Band:
    return Band(name, f"{common} ({um * 1000:.0f} nm)", common, um, fwhm, gsd, None, 0.0001)


_BANDS: tuple[Band, ...] = (
    _refl("B01", "coastal", 0.443, 0.027, 60),
    _refl("B02", "blue", 0.490, 0.098, 10),
    _refl("B03", "green", 0.560, 0.045, 10),
    _refl("B04", "red", 0.665, 0.038, 10),
    _refl("B05", "rededge", 0.705, 0.019, 20),
    _refl("B06", "rededge", 0.740, 0.018, 20),
    _refl("B07", "rededge", 0.783, 0.028, 20),
    _refl("B08", "nir", 0.842, 0.145, 10),
    _refl("B8A", "nir08", 0.865, 0.033, 20),
    _refl("B09", "nir09", 0.945, 0.026, 60),
    _refl("B11", "swir16", 1.610, 0.143, 20),
    _refl("B12", "swir22", 2.190, 0.242, 20),
    Band("SCL", "Scene classification (0–11)", gsd=20, data_type="uint8"),
    Band("AOT", "Aerosol optical thickness at 550 nm", gsd=10, scale=0.001, data_type="uint16"),
    Band("WVP", "Water vapour (cm)", gsd=10, unit="cm", scale=0.001, data_type="uint16"),
    Band("CLD", "Cloud probability", gsd=20, unit="%", data_type="uint8"),
    Band("SNW", "Snow probability", gsd=20, unit="%", data_type="uint8"),
    Band("dataMask", "1 where data, 0 where none", gsd=10, data_type="uint8"),
)


class Sentinel2L2A(UtmGridSource):
    """Synthetic Sentinel-2 L2A (CDSE id ``SENTINEL2_L2A``)."""

    id = "SENTINEL2_L2A"
    title = "Sentinel-2 MSI Level-2A"
    description = __doc__ or ""
    keywords = ("Copernicus", "Sentinel", "Sentinel-2", "MSI", "L2A", "optical", "reflectance")
    bands = _BANDS
    start = date(2017, 3, 28)
    time_step = "P5D"
    time_description = (
        "One label per acquisition day (00:00 UTC): 5-day revisit at the equator, 2-3 days "
        "where swaths overlap; 10 days with Sentinel-2A alone (before 2017-07-06)."
    )
    summaries: ClassVar[Mapping[str, Any]] = {
        "platform": ["sentinel-2a", "sentinel-2b", "sentinel-2c"],
        "constellation": ["sentinel-2"],
        "instruments": ["msi"],
        "eo:cloud_cover": {"minimum": 0, "maximum": 100},
    }

    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """The days on which a Sentinel-2 swath covers part of the bbox."""
        return orbit_acquisitions("sentinel-2", bbox4326, first, stop)

    def queryable_properties(self) -> dict[str, dict[str, Any]]:
        """Cloud cover over the requested bbox, platform, relative orbit and orbit state."""
        return {
            "eo:cloud_cover": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "title": "Cloud cover over the bbox (%)",
            },
            "platform": {"type": "string", "enum": ["sentinel-2a", "sentinel-2b", "sentinel-2c"]},
            "sat:relative_orbit": {"type": "integer", "minimum": 1, "maximum": _TRACKS},
            "sat:orbit_state": {"type": "string", "enum": ["descending"]},
        }

    def property_value(
        self, acquisition: Acquisition, name: str, bbox4326: tuple[float, float, float, float]
    ) -> Any:
        """Cloud cover is estimated over the requested bbox, on demand."""
        if name == "eo:cloud_cover":
            return optical.cloud_cover(bbox4326, acquisition.day)
        return super().property_value(acquisition, name, bbox4326)

    def chunk_fields(
        self, tile: Tile, acquisitions: Sequence[Acquisition], options: Mapping[str, Any]
    ) -> optical.ChunkPin:
        """Land cover and node weather of the chunk, shared by all its bands."""
        return optical.pin_chunk(tile, [acq.day for acq in acquisitions])

    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """One band of one chunk for each acquisition."""
        out = np.empty((len(acquisitions), *tile.shape), dtype=np.float32)
        for i, acq in enumerate(acquisitions):
            sc = optical.scene(tile, acq.day)
            if band.wavelength is not None:
                _digital_numbers(sc.reflectance(band.wavelength * 1000.0), out[i])
            else:
                out[i] = self._band(sc, band, acq, tile)
        return out

    def _band(self, sc: optical.Scene, band: Band, acq: Acquisition, tile: Tile) -> np.ndarray:
        name = band.name
        if name == "SCL":
            return scl(sc)
        if name == "CLD":
            return np.round(np.clip(sc.cloud * 100.0 + sc.cirrus * 60.0, 0, 100))
        if name == "SNW":
            return np.round(np.where(sc.cloud > 0.5, 0.0, sc.snow * 100.0))
        if name == "AOT":
            iy, ix = tile.pixel_index
            aot = (
                0.06 + 0.25 * sc.static.aridity + 0.03 * normal(_ATMOS, acq.day, iy // 64, ix // 64)
            )
            return np.round(np.clip(aot, 0.01, 2.0) * 1000.0)
        if name == "WVP":
            wv = 0.4 + 3.6 * (1.0 - sc.static.aridity) * np.clip(
                1.0 - np.abs(sc.static.lat) / 70.0, 0.1, 1.0
            )
            return np.round(wv * 1000.0)
        return np.ones(tile.shape, dtype=np.float32)  # dataMask


def boa_add_offset(day: int) -> int:
    """DN that an L2A product file of ``day`` adds to the harmonised DN (baseline ≥ 04.00)."""
    return 1000 if day >= _BASELINE_0400 else 0


def _digital_numbers(reflectance: np.ndarray, out: np.ndarray) -> None:
    """Harmonised L2A digital numbers of a reflectance into ``out``.

    The floor is 1, not 0: 0 is the products' nodata value.
    """
    reflectance *= np.float32(10000.0)
    np.round(reflectance, out=reflectance)
    np.clip(reflectance, np.float32(1.0), np.float32(65535.0), out=out)


def scl(sc: optical.Scene) -> np.ndarray:
    """Scene classification consistent with the scene's reflectances."""
    st = sc.static
    out = np.where(sc.ndvi() > 0.4, 4, 5).astype(np.float32)
    out[st.water] = 6
    out[sc.snow > 0.5] = 11
    out[sc.shadow] = 3
    out[sc.cirrus > 0.2] = 10
    out[(sc.cloud > 0.15) & (sc.cloud <= 0.3)] = 7
    out[(sc.cloud > 0.3) & (sc.cloud <= 0.7)] = 8
    out[sc.cloud > 0.7] = 9
    return out

"""Sentinel-3 SLSTR Level-2 land surface temperature (CDSE id ``SENTINEL3_SLSTR_L2_LST``).

Bands as CDSE's openEO collection names them, on the 1 km nadir grid (EPSG:4326, 1/120°):

- ``LST``: land surface temperature in K. The demo's thermal bands carry no atmosphere
  or emissivity effect, so the split-window retrieval returns what the 11 µm channel
  sees: ``LST`` equals ``SENTINEL3_SLSTR``'s ``S8`` brightness temperature over land
  (clouds included, as in the real product: mask them with ``confidence_in``) and is NaN
  over water, which the LST retrieval leaves unfilled.
- ``LST_uncertainty``: K, larger over arid land (emissivity less certain) and under cloud.
- ``exception``: the retrieval's exception flags; bit 7 (128, ``unfilled_pixel``) over
  water, 0 elsewhere.
- ``confidence_in``: the SLSTR confidence flags: 2 ``ocean`` (every water pixel here),
  8 ``land``, 1024 ``day`` (every demo overpass is at 10:00 local solar time), 8192
  ``snow`` (snow cover above half), 16384 ``summary_cloud`` (opaque cloud above half,
  or cirrus above 0.15), so ``confidence_in >= 16384`` masks clouds as CDSE's examples do.

Acquisitions are those of ``SENTINEL3_SLSTR`` (same orbits and days), so each day's
``LST`` lines up with that day's brightness temperatures pixel by pixel.
"""

from __future__ import annotations

import numpy as np

from ..bands import Band
from . import optical
from .sentinel3 import STEP_DEG, _Sentinel3, _summaries, brightness_temperature, solar_cos_zenith

__all__ = ["CONFIDENCE", "SlstrL2Lst"]

#: ``confidence_in`` bits set by the demo (names as in the real product's flag meanings).
CONFIDENCE = {"ocean": 2, "land": 8, "day": 1024, "snow": 8192, "summary_cloud": 16384}
_UNFILLED = 128


class SlstrL2Lst(_Sentinel3):
    """Synthetic Sentinel-3 SLSTR Level-2 LST (CDSE id ``SENTINEL3_SLSTR_L2_LST``)."""

    id = "SENTINEL3_SLSTR_L2_LST"
    title = "Sentinel-3 SLSTR Level-2 land surface temperature"
    description = __doc__ or ""
    keywords = ("Copernicus", "Sentinel", "Sentinel-3", "SLSTR", "LST", "land surface temperature")
    bands = (
        Band("LST", "Land surface temperature", gsd=1000.0, unit="K"),
        Band("LST_uncertainty", "Land surface temperature uncertainty", gsd=1000.0, unit="K"),
        Band(
            "exception", "LST exception flags (128 unfilled pixel)", gsd=1000.0, data_type="uint8"
        ),
        Band(
            "confidence_in",
            "Confidence flags (2 ocean, 8 land, 1024 day, 8192 snow, 16384 cloud)",
            gsd=1000.0,
            data_type="uint16",
        ),
    )
    spatial_step = (STEP_DEG[1000.0],) * 2
    spatial_description = "EPSG:4326, 1/120° (~1 km)."
    summaries = _summaries("slstr")

    def value(self, sc: optical.Scene, band: Band, day: float) -> optical.Fields:
        """LST (K), its uncertainty (K) or the flags, on a scene of one date."""
        water = sc.static.water
        if band.name == "LST":
            cos_sza = solar_cos_zenith(sc.static.lat, day)
            lst = brightness_temperature(sc, "S8", day, cos_sza)
            return np.where(water, np.float32(np.nan), lst).astype(np.float32)
        if band.name == "LST_uncertainty":
            sigma = 0.8 + 1.2 * sc.static.aridity + 2.0 * sc.cloud + 1.5 * sc.cirrus
            return np.where(water, np.float32(np.nan), sigma).astype(np.float32)
        if band.name == "exception":
            return np.where(water, _UNFILLED, 0).astype(np.float32)
        flags = np.where(water, CONFIDENCE["ocean"], CONFIDENCE["land"]) | CONFIDENCE["day"]
        flags |= np.where(sc.snow > 0.5, CONFIDENCE["snow"], 0)
        cloudy = (sc.cloud > 0.5) | (sc.cirrus > 0.15)
        flags |= np.where(cloudy, CONFIDENCE["summary_cloud"], 0)
        return flags.astype(np.float32)

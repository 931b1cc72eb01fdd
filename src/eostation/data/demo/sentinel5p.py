"""SENTINEL_5P_L2: synthetic Sentinel-5P TROPOMI Level-2 trace gases, daily from 2018-04-30.

Bands: ``CH4`` column-averaged dry-air mixing ratio (ppb), ``CO`` total column
(mol/m²), ``NO2`` tropospheric column (mol/m²), ``O3`` total column (mol/m²).
Grid: EPSG:4326 with 0.05° rows (≈5.5 km along track) and 0.0625° columns for
CH4/CO (≈7 km), 0.03125° for NO2/O3 (≈3.5 km); one grid per load, the finest of the
requested bands, coarser bands repeat their native cell value. Labels are days at
00:00 UTC; the orbit (:mod:`.orbits`: 13:30 ascending node, 16-day/227-orbit cycle)
gives each day's overpass time (``datetime``) and absolute orbit. Pixels failing the quality filter (cloud,
snow) are NaN: CH4 needs a nearly clear sky, NO2 a cloud fraction below one half,
CO and O3 are retrieved through most clouds.

CH4 has a background rising ~9 ppb per year from ~1,855 ppb in 2018, higher in the
northern hemisphere, with regional enhancements (wetlands, rice) and plumes that
appear on some days downwind of real oil, gas and coal basins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..bands import Band
from . import world
from .grid import Grid, Tile, lonlat_to_xyz
from .noise import fbm3, normal, seed_of, uniform
from .source import Acquisition, DemoSource, orbit_acquisitions

__all__ = ["Sentinel5PL2"]

Fields = NDArray[np.float64]
ROW_DEG = 0.05
COARSE_DEG, FINE_DEG = 0.0625, 0.03125
DU = 4.4615e-4  # mol/m² per Dobson unit
_SEED = seed_of("s5p")

#: (name, lon, lat, basin radius km, typical plume enhancement ppb)
METHANE_SOURCES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Permian Basin", -102.6, 31.9, 120.0, 60.0),
    ("Turkmenistan south Caspian", 54.2, 38.9, 100.0, 90.0),
    ("Bowen Basin", 148.3, -22.6, 120.0, 50.0),
    ("Shanxi coal", 112.5, 37.6, 150.0, 60.0),
    ("Hassi Messaoud", 6.1, 31.7, 60.0, 50.0),
    ("Appalachian Basin", -80.3, 39.8, 120.0, 35.0),
    ("Kuzbass", 86.9, 54.2, 90.0, 45.0),
    ("Upper Silesia", 18.8, 50.1, 50.0, 40.0),
)

#: (centre lon, lat, radius degrees, ppb) of broad regional CH4 enhancements.
_REGIONAL = (
    (95.0, 24.0, 14.0, 35.0),
    (-62.0, -4.0, 10.0, 18.0),
    (22.0, 1.0, 10.0, 18.0),
    (31.0, 8.0, 5.0, 20.0),
)


def _band(name: str, desc: str, unit: str, gsd: float) -> Band:
    return Band(name, desc, gsd=gsd, unit=unit)


_BANDS = (
    _band("CH4", "Column-averaged dry-air mole fraction of methane", "ppb", 5500.0),
    _band("CO", "Carbon monoxide total column", "mol/m^2", 5500.0),
    _band("NO2", "Nitrogen dioxide tropospheric column", "mol/m^2", 3500.0),
    _band("O3", "Ozone total column", "mol/m^2", 3500.0),
)
_COARSE = {"CH4", "CO"}


class Sentinel5PL2(DemoSource):
    """Synthetic Sentinel-5P L2 (CDSE id ``SENTINEL_5P_L2``)."""

    id = "SENTINEL_5P_L2"
    title = "Sentinel-5P TROPOMI Level-2"
    description = __doc__ or ""
    keywords = (
        "Copernicus",
        "Sentinel",
        "Sentinel-5P",
        "TROPOMI",
        "atmosphere",
        "methane",
        "trace gases",
    )
    bands = _BANDS
    start = date(2018, 4, 30)
    spatial_step = (FINE_DEG, ROW_DEG)
    spatial_description = "EPSG:4326; CH4 and CO on 0.0625° columns."
    time_step = "P1D"
    time_description = "Daily, labelled at 00:00 UTC."
    summaries: ClassVar[Mapping[str, Any]] = {
        "platform": ["sentinel-5p"],
        "constellation": ["sentinel-5p"],
        "instruments": ["tropomi"],
    }

    def grid(self, bbox4326: tuple[float, float, float, float], bands: Sequence[Band]) -> Grid:
        """EPSG:4326, 0.05° rows, 0.0625° or 0.03125° columns."""
        fine = any(b.name not in _COARSE for b in bands)
        return Grid.covering(bbox4326, 4326, (FINE_DEG if fine else COARSE_DEG, ROW_DEG))

    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """The days on which the 2,600 km TROPOMI swath covers part of the bbox (all, nearly)."""
        return orbit_acquisitions("sentinel-5p", bbox4326, first, stop)

    def queryable_properties(self) -> dict[str, dict[str, Any]]:
        """Only the platform."""
        return {"platform": {"type": "string", "enum": ["sentinel-5p"]}}

    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """One gas on one chunk for each day (NaN where the quality filter fails)."""
        lon, lat, cell = self._native(tile, band)
        elev = world.elevation(lon, lat)
        out = np.empty((len(acquisitions), *tile.shape), dtype=np.float32)
        for i, acq in enumerate(acquisitions):
            day = acq.day + 0.55  # ~13:30 local overpass
            value = _GASES[band.name](lon, lat, day, cell, elev)
            cloud = world.cloud_index(lon, lat, day)
            limit = {"CH4": 0.2, "NO2": 0.6, "CO": 1.4, "O3": 2.5}[band.name]
            bad = cloud > limit
            if band.name == "CH4":
                bad |= world.temperature(lat, elev, day) < -3.0  # snow
                bad |= elev == 0.0  # the sea is too dark in the SWIR for a retrieval
            out[i] = np.where(bad, np.nan, value)
        return out

    def _native(self, tile: Tile, band: Band) -> tuple[Fields, Fields, tuple[Any, Any]]:
        """Centres of the band's native cells under each pixel, and the cells' indices."""
        iy, ix = tile.pixel_index
        step = COARSE_DEG if band.name in _COARSE else FINE_DEG
        col = np.floor((ix + 0.5) * tile.grid.rx / step).astype(np.int64)
        row = iy
        lon = np.broadcast_to((col + 0.5) * step, tile.shape)
        lat = np.broadcast_to(np.clip(-(row + 0.5) * ROW_DEG, -89.99, 89.99), tile.shape)
        return np.array(lon), np.array(lat), (row, col)


def _years_since_2018(day: float) -> float:
    return (day - 17532.0) / 365.2425  # 17532 = 2018-01-01


def _local_km(lon: Fields, lat: Fields, lon0: float, lat0: float) -> tuple[Fields, Fields]:
    east = (lon - lon0) * 111.2 * math.cos(math.radians(lat0))
    return east, (lat - lat0) * 111.2


def methane(lon: Fields, lat: Fields, day: float, cell: tuple[Any, Any], elev: Fields) -> Fields:
    """XCH4 in ppb."""
    doy = world.day_of_year(day)
    ch4 = (
        1855.0
        + 9.0 * _years_since_2018(day)
        + 18.0 * np.tanh(lat / 20.0)
        + 7.0 * np.cos(2 * np.pi * (doy - 260.0) / 365.2425) * np.sign(lat)
        - 0.004 * elev  # thinner column over mountains (a known retrieval artefact)
    )
    xyz = lonlat_to_xyz(lon, lat)
    ch4 = ch4 + 12.0 * world.z_score(fbm3(_SEED + 1, xyz, 1200.0, octaves=2), 2)
    for lon0, lat0, radius, ppb in _REGIONAL:
        ch4 = ch4 + ppb * np.exp(-(((lon - lon0) ** 2 + (lat - lat0) ** 2) / radius**2))
    for k, (_, lon0, lat0, radius, ppb) in enumerate(METHANE_SOURCES):
        east, north = _local_km(lon, lat, lon0, lat0)
        dist2 = east**2 + north**2
        if float(np.min(dist2)) > (radius + 400.0) ** 2:
            continue
        ch4 = ch4 + 0.3 * ppb * np.exp(-dist2 / radius**2)
        daily = int(day)
        if uniform(_SEED + 2, k, daily) < 0.45:  # a plume on this day
            theta = 2 * np.pi * float(uniform(_SEED + 3, k, daily))
            strength = ppb * (0.6 + 1.2 * float(uniform(_SEED + 4, k, daily)))
            along = east * math.cos(theta) + north * math.sin(theta)
            across = -east * math.sin(theta) + north * math.cos(theta)
            spread = 15.0 + 0.25 * np.maximum(along, 0.0)
            ahead = np.where(along > -20.0, np.exp(-np.maximum(along, 0.0) / 180.0), 0.0)
            ch4 = ch4 + strength * ahead * np.exp(-((across / spread) ** 2)) * np.exp(
                -dist2 / (4 * radius) ** 2
            )
    row, col = cell
    noisy: Fields = ch4 + 8.0 * normal(_SEED + 5, int(day), row, col)
    return noisy


def carbon_monoxide(
    lon: Fields, lat: Fields, day: float, cell: tuple[Any, Any], elev: Fields
) -> Fields:
    """CO total column in mol/m²: hemispheric gradient, fire seasons, industrial Asia."""
    doy = world.day_of_year(day)
    co = 0.022 + 0.006 * np.tanh(lat / 15.0) - 0.000002 * elev
    fire_africa = np.exp(-(((doy - 230.0) / 40.0) ** 2)) * np.exp(
        -(((lon - 20.0) / 12) ** 2 + ((lat + 10.0) / 8) ** 2)
    )
    fire_amazon = np.exp(-(((doy - 250.0) / 30.0) ** 2)) * np.exp(
        -(((lon + 58.0) / 10) ** 2 + ((lat + 10.0) / 7) ** 2)
    )
    asia = np.exp(-(((lon - 112.0) / 12) ** 2 + ((lat - 32.0) / 8) ** 2))
    co = co + 0.025 * fire_africa + 0.02 * fire_amazon + 0.012 * asia
    row, col = cell
    noisy: Fields = co * (1.0 + 0.05 * normal(_SEED + 6, int(day), row, col))
    return noisy


def nitrogen_dioxide(
    lon: Fields, lat: Fields, day: float, cell: tuple[Any, Any], elev: Fields
) -> Fields:
    """Tropospheric NO2 column in mol/m²: towns, winter maximum, quieter Sundays."""
    land = world.landscape(lon, lat)
    towns = np.where(land.water > 0, 0.0, np.clip(land.urban + 2.2, 0.0, 4.0) ** 2 * 8e-6)
    phase = 2 * np.pi * (world.day_of_year(day) - 15.0) / 365.2425
    winter = 1.0 + 0.35 * np.where(lat >= 0, np.cos(phase), -np.cos(phase))
    sunday = 0.7 if int(day) % 7 == 3 else 1.0  # 1970-01-04 (day 3) was a Sunday
    row, col = cell
    noisy: Fields = (1.2e-5 + towns * winter * sunday) + 6e-6 * normal(
        _SEED + 7, int(day), row, col
    )
    return noisy


def ozone(lon: Fields, lat: Fields, day: float, cell: tuple[Any, Any], elev: Fields) -> Fields:
    """Total ozone column in mol/m²: ~260 DU in the tropics, spring maxima at high latitudes."""
    abs_lat = np.abs(lat)
    doy = world.day_of_year(day)
    spring = np.where(
        lat >= 0,
        np.cos(2 * np.pi * (doy - 80.0) / 365.2425),
        np.cos(2 * np.pi * (doy - 265.0) / 365.2425),
    )
    du = (
        262.0
        + 70.0 * (abs_lat / 70.0) ** 1.5
        + 45.0 * np.clip(spring, 0.0, 1.0) * np.clip((abs_lat - 30.0) / 30.0, 0.0, 1.0)
    )
    weather = world._evolving(lon, lat, day, _SEED + 8, scale=1500.0, octaves=2, period=3.0)
    row, col = cell
    du = du + 12.0 * weather + 2.0 * normal(_SEED + 9, int(day), row, col)
    return du * DU


_GASES = {"CH4": methane, "CO": carbon_monoxide, "NO2": nitrogen_dioxide, "O3": ozone}

"""The synthetic Earth: terrain, land cover, climate and weather as functions of place and date.

All fields are pure functions of longitude/latitude (degrees) and a day number
(days since 1970-01-01, UTC; fractions allowed), built from :mod:`.noise`. Smooth
fields are meant to be evaluated on a chunk's nodes (see :class:`.grid.Tile`) and
interpolated; nothing here knows about pixels, bands or sensors.

The sea and the large lakes are real (:mod:`.geography`); the land between them is
synthetic: terrain, towns, forests, crops, deserts in the subtropical belts and ice
near the poles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from . import geography, landcover
from .grid import lonlat_to_xyz
from .noise import fbm3, fbm3_many, seed_of
from .parcels import large_farms

__all__ = [
    "FBM_STD",
    "Landscape",
    "cloud_index",
    "cloud_index_days",
    "cloudiness",
    "cloudiness_days",
    "day_of_year",
    "elevation",
    "landscape",
    "shadow_offset_km",
    "surface_water",
    "temperature",
    "threshold_for_fraction",
    "wind",
]

Fields = NDArray[np.float64]

#: Standard deviation of :func:`.noise.fbm3` by number of octaves (measured, mean is 0.5).
FBM_STD = {1: 0.185, 2: 0.138, 3: 0.121, 4: 0.114, 5: 0.110}

_TERRAIN = seed_of("terrain")
_WATER = seed_of("water")
_URBAN = seed_of("urban")
_ARID = seed_of("aridity")
_FOREST = seed_of("forest")
_BARE = seed_of("bare")
_CLOUD = seed_of("cloud")
_CLIMATE = seed_of("cloudiness")
_WIND = seed_of("wind")


def z_score(v: Fields, octaves: int) -> Fields:
    """fBm values rescaled to roughly standard-normal."""
    return (v - 0.5) / FBM_STD[octaves]


def threshold_for_fraction(fraction: Fields | float) -> Fields:
    """z-score above which a fraction of a standard-normal field lies."""
    return np.asarray(ndtri(1.0 - np.clip(fraction, 1e-4, 1 - 1e-4)), dtype=np.float64)


def day_of_year(day: float) -> float:
    """Day of year (1-based, fractional) of a day number since 1970-01-01."""
    return float((day - 0.0) % 365.2425) + 1.0


def surface_water(
    lon: Fields, lat: Fields, xyz: tuple[Fields, Fields, Fields]
) -> tuple[Fields, Fields]:
    """Sea and open-water potentials at points: > 0 on water, about ±1 away from shores.

    The real 1 km coast and the lake shores get a wiggle of up to a few hundred metres
    from a bounded noise, which never turns open sea into land or inland into sea.
    """
    wiggle = 0.3 * np.clip(z_score(fbm3(_WATER, xyz, 3.0, octaves=3), 3), -3.0, 3.0)
    sea = 2.0 * (geography.sea_fraction(lon, lat) - 0.5) + wiggle
    lake = np.where(geography.lake_mask(lon, lat), 1.0, -1.0) + wiggle
    return sea, np.maximum(sea, lake)


def elevation(lon: Fields, lat: Fields) -> Fields:
    """Terrain height in metres above sea level: plains, hills and ridged mountain belts.

    Exactly 0 over the sea, at least 1 m on land, rising over a few hundred metres inland.
    """
    xyz = lonlat_to_xyz(lon, lat)
    return _terrain(lon, lat, xyz, surface_water(lon, lat, xyz)[0])[0]


def _terrain(
    lon: Fields, lat: Fields, xyz: tuple[Fields, Fields, Fields], sea: Fields
) -> tuple[Fields, Fields]:
    """Height (m) and relief (0 plains … 1 mountains) at points."""
    plains = z_score(fbm3(_TERRAIN, xyz, 3000.0, octaves=4), 4)
    belts = fbm3(_TERRAIN + 7, xyz, 900.0, octaves=3)
    ridge = 1.0 - np.abs(2.0 * fbm3(_TERRAIN + 13, xyz, 120.0, octaves=5) - 1.0)
    belt = np.clip((belts - 0.55) / 0.12, 0.0, 1.0)
    height = 250.0 + 220.0 * plains + 4200.0 * belt * ridge**3
    # The real ranges: ridges and valleys ~10 km apart, peaks near 3,500 m. Their noise
    # is evaluated only where a range is.
    ranges = landcover.mountain_ranges(lon, lat)
    inside = ranges > 0.0
    if inside.any():
        x, y, z = (c[inside] for c in xyz)
        valleys = 1.0 - np.abs(2.0 * fbm3(_TERRAIN + 17, (x, y, z), 10.0, octaves=4) - 1.0)
        height[inside] = np.maximum(height[inside], 250.0 + 3400.0 * ranges[inside] * valleys**3)
    relief = np.maximum(belt, ranges)
    inland = np.clip(-sea, 0.0, 1.0)
    land = np.maximum(np.clip(height, 0.0, 8500.0) * inland, 1.0)
    return np.where(sea > 0.0, 0.0, land), relief


class Landscape:
    """Static land-cover potentials at a set of points (z-scores unless noted).

    A potential is > 0 where its class lies; the shares of each class follow
    :func:`.landcover.fractions`.
    """

    def __init__(self, lon: Fields, lat: Fields) -> None:
        xyz = lonlat_to_xyz(lon, lat)
        self.lon, self.lat = lon, lat
        sea, water = surface_water(lon, lat, xyz)
        self.elevation, relief = _terrain(lon, lat, xyz, sea)
        #: > 0 on the sea and on lakes (see :func:`surface_water`)
        self.water = water
        desert_belt = np.exp(-(((np.abs(lat) - 24.0) / 9.0) ** 2))
        arid_noise = z_score(fbm3(_ARID, xyz, 800.0, octaves=3), 3)
        #: 0 humid … 1 hyper-arid
        self.aridity = np.clip(desert_belt * 0.9 + 0.25 * arid_noise, 0.0, 1.0)
        # Few towns in the hyper-arid deserts; elsewhere where they always were.
        self.urban = (
            z_score(fbm3(_URBAN, xyz, 25.0, octaves=4), 4)
            - 2.0
            - 4.0 * np.clip(self.aridity - 0.6, 0.0, 1.0)
        )
        shares = landcover.fractions(
            lat, self.elevation, self.aridity, relief, large_farms(lon, lat)
        )
        x, y, z = (np.broadcast_to(c, (2, *np.shape(c))) for c in xyz)
        woods, rock = fbm3_many([_FOREST, _BARE], (x, y, z), 6.0, octaves=4)
        self.forest = z_score(woods, 4) - threshold_for_fraction(shares.forest)
        self.bare = z_score(rock, 4) - threshold_for_fraction(shares.bare)
        #: share (0–1) of the open land (neither forest nor bare) that is grassland
        self.grass = shares.grass


def landscape(lon: Fields, lat: Fields) -> Landscape:
    """Static land-cover potentials at points."""
    return Landscape(lon, lat)


def temperature(
    lat: NDArray[np.floating[Any]], elev: NDArray[np.floating[Any]], day: float
) -> Fields:
    """Near-surface air temperature (°C) around late morning: climate + season + lapse rate.

    Takes float32 pixel fields as well as float64 node fields; the seasonal term is
    float64 either way, and so is the result.
    """
    abs_lat = np.abs(lat)
    mean = 27.0 - 0.012 * np.maximum(abs_lat - 10.0, 0.0) ** 2 + 0.0
    amplitude = 0.25 * abs_lat
    # Coldest around 15 January in the north, 15 July in the south.
    phase = 2.0 * np.pi * (day_of_year(day) - 15.0) / 365.2425
    season = np.where(lat >= 0, -np.cos(phase), np.cos(phase))
    temp: Fields = mean + amplitude * season - 6.5 * elev / 1000.0
    return temp


def cloudiness(lon: Fields, lat: Fields, day: float) -> Fields:
    """Expected cloud-cover fraction (0–1) from climate and the weather of the day."""
    fraction: Fields = cloudiness_days(np.asarray(lon)[None], np.asarray(lat)[None], [day])[0]
    return fraction


def cloudiness_days(lon: Fields, lat: Fields, days: Sequence[float]) -> Fields:
    """:func:`cloudiness` of several days at once: ``lon``/``lat`` lead with one axis per day.

    Values are identical to one call per day (the same operations on each point; the
    per-day terms are computed as scalars, as one call would).
    """
    abs_lat = np.abs(lat)
    base = (
        0.58
        + 0.22 * np.exp(-((lat / 8.0) ** 2))
        - 0.40 * np.exp(-(((abs_lat - 24.0) / 8.0) ** 2))
        + 0.12 * np.clip((abs_lat - 45.0) / 15.0, 0.0, 1.0)
    )
    phases = [2.0 * np.pi * (day_of_year(day) - 15.0) / 365.2425 for day in days]
    cosines = _per_day([np.cos(phase) for phase in phases], np.ndim(lat))
    winter = np.where(lat >= 0, cosines, -cosines)
    base = base + 0.10 * winter * np.clip((abs_lat - 30.0) / 20.0, 0.0, 1.0)
    xyz = lonlat_to_xyz(lon, lat)
    regional = z_score(fbm3(_CLIMATE, xyz, 1500.0, octaves=2), 2)
    weather = _evolving_days(lon, lat, days, _CLIMATE + 101, scale=900.0, octaves=2, period=4.0)
    fraction: Fields = np.clip(base + 0.06 * regional + 0.22 * weather, 0.02, 0.97)
    return fraction


def cloud_index(lon: Fields, lat: Fields, day: float) -> Fields:
    """Cloud structure: positive inside clouds, larger in thicker cloud (z-score units).

    Clouds drift with the prevailing winds (westerlies poleward of 30°, trade winds
    equatorward) and evolve over a few days, so consecutive dates differ.
    """
    index: Fields = cloud_index_days(np.asarray(lon)[None], np.asarray(lat)[None], [day])[0]
    return index


def cloud_index_days(lon: Fields, lat: Fields, days: Sequence[float]) -> Fields:
    """:func:`cloud_index` of several days in one noise pass (``lon``/``lat`` lead with
    one axis per day); identical to one call per day, without its fixed cost per call."""
    structure = _evolving_days(lon, lat, days, _CLOUD, scale=35.0, octaves=5, period=3.0)
    return structure - threshold_for_fraction(cloudiness_days(lon, lat, days))


def shadow_offset_km(
    lat: Fields, day: float, cloud_km: float = 2.0, local_hour: float = 10.5
) -> tuple[Fields, Fields]:
    """(east, north) km from a shadowed ground point to the cloud that casts it.

    The cloud sits towards the Sun at ``cloud_km`` × tan(solar zenith): short shadows
    under a high summer Sun, long ones in winter and at high latitudes (capped at 8 km).
    """
    decl = np.radians(23.44) * np.sin(2.0 * np.pi * (day_of_year(day) - 81.0) / 365.2425)
    hour = np.radians(15.0 * (local_hour - 12.0))
    phi = np.radians(lat)
    # The unit vector to the Sun in local east/north/up coordinates.
    east = -np.cos(decl) * np.sin(hour) * np.ones_like(phi)
    north = np.cos(phi) * np.sin(decl) - np.sin(phi) * np.cos(decl) * np.cos(hour)
    up = np.maximum(np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour), 0.1)
    scale = cloud_km / up
    length = np.hypot(east, north) * scale
    scale = scale * np.minimum(1.0, 8.0 / np.maximum(length, 1e-9))
    return east * scale, north * scale


def wind(lon: Fields, lat: Fields, day: float) -> Fields:
    """Surface wind anomaly of the day (z-score): calm < 0 < windy, over ~400 km weather systems."""
    return _evolving(lon, lat, day, _WIND, scale=400.0, octaves=3, period=2.0)


def _evolving(
    lon: Fields, lat: Fields, day: float, seed: int, *, scale: float, octaves: int, period: float
) -> Fields:
    """A z-scored noise field advected by wind and blended between independent states."""
    lon, lat = np.asarray(lon)[None], np.asarray(lat)[None]
    field: Fields = _evolving_days(
        lon, lat, [day], seed, scale=scale, octaves=octaves, period=period
    )[0]
    return field


def _evolving_days(
    lon: Fields,
    lat: Fields,
    days: Sequence[float],
    seed: int,
    *,
    scale: float,
    octaves: int,
    period: float,
) -> Fields:
    """:func:`_evolving` of several days (the leading axis of ``lon``/``lat``) in one pass."""
    ks = [int(np.floor(day / period)) for day in days]
    fracs = [day / period - k for day, k in zip(days, ks, strict=True)]
    wind = np.where(np.abs(lat) > 30.0, 450.0, -300.0)  # km/day, eastward positive
    km_per_deg = 111.2 * np.maximum(np.cos(np.radians(lat)), 0.05)
    # Both states of every day in one noise pass (same values as one call per state).
    shifts = [
        [day - state * period for state in (k, k + 1)] for day, k in zip(days, ks, strict=True)
    ]
    lons = lon[:, None] - wind[:, None] * _per_day(shifts, np.ndim(lon) + 1) / km_per_deg[:, None]
    xyz = lonlat_to_xyz(lons, np.broadcast_to(lat[:, None], lons.shape))
    seeds = [seed + 1000 * state for k in ks for state in (k, k + 1)]
    flat = tuple(c.reshape(len(seeds), *lons.shape[2:]) for c in xyz)
    noise = fbm3_many(seeds, (flat[0], flat[1], flat[2]), scale, octaves=octaves)
    fields = z_score(noise, octaves).reshape(lons.shape)
    ndim = np.ndim(lon)
    stay, move = _per_day([1.0 - f for f in fracs], ndim), _per_day(fracs, ndim)
    blend = stay * fields[:, 0] + move * fields[:, 1]
    # Blending two independent unit-variance fields shrinks the variance; restore it.
    norms = [np.sqrt((1.0 - frac) ** 2 + frac**2) for frac in fracs]
    unit: Fields = blend / _per_day(norms, ndim)
    return unit


def _per_day(values: Sequence[Any], ndim: int) -> Fields:
    """Per-day scalars (or rows of them) as an array that broadcasts along a leading day axis."""
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(*array.shape, *(1,) * (ndim - array.ndim))

"""SENTINEL1_GRD: synthetic Sentinel-1 C-band SAR, IW mode, VV + VH, 10 m.

Values are σ⁰ on the ellipsoid (``sigma0-ellipsoid``) in linear power, with
multiplicative speckle (gamma-distributed, 4 looks, a pure function of pixel and
date). Two auxiliary bands let ``sar_backscatter`` convert coefficients, in degrees:
``incidence_angle`` (θe, on the ellipsoid, 29–46° across the swath) and
``local_incidence_angle`` (θl, against the terrain slope):

- β⁰ = σ⁰ / sin θe;  γ⁰ (ellipsoid) = σ⁰ / cos θe;
- γ⁰ (terrain-flattened) ≈ σ⁰ · tan θl / sin θe  (equals σ⁰ / cos θe on flat ground).

Revisit: the real orbits (:mod:`.orbits`): each satellite repeats its 175 relative
orbits every 12 days, dawn-dusk (ascending 18:00, descending 06:00 local solar time),
the IW swath 250 km wide right of the track; Sentinel-1A from 2014-10-03, 1B from
2016-04-25 to 2021-12-23 (1A alone in 2022-2024), 1C (approximate start of its data)
from 2025-04-01, 6 days after 1A. Labelled by day (00:00 UTC). One grid per load: the
UTM zone of the bbox centre at 10 m.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..bands import Band
from . import optical, world
from .grid import Tile
from .nodes import node_static
from .noise import hash_ints, seed_of
from .source import Acquisition, UtmGridSource, orbit_acquisitions

__all__ = ["Sentinel1GRD", "gamma_speckle"]

Fields = NDArray[np.float64]
_TRACKS = 175
_SPECKLE = seed_of("s1-speckle")

#: (calm, windy) γ⁰ dB of open water, per polarisation (VV, VH).
_WATER_DB = ((-26.5, -19.5), (-27.5, -23.5))
#: (VV dB, VH dB) of γ⁰ per land cover type.
_GAMMA0_DB = {
    "urban": (1.0, -8.0),
    "forest": (-7.5, -13.0),
    "bare": (-13.0, -22.0),
}


class Sentinel1GRD(UtmGridSource):
    """Synthetic Sentinel-1 GRD (CDSE id ``SENTINEL1_GRD``)."""

    id = "SENTINEL1_GRD"
    title = "Sentinel-1 SAR GRD, IW mode"
    description = __doc__ or ""
    keywords = ("Copernicus", "Sentinel", "Sentinel-1", "SAR", "GRD", "backscatter", "C-band")
    bands = (
        Band("VV", "σ⁰ ellipsoid, VV polarisation (linear power)", gsd=10.0),
        Band("VH", "σ⁰ ellipsoid, VH polarisation (linear power)", gsd=10.0),
        Band("incidence_angle", "Incidence angle on the ellipsoid", gsd=10.0, unit="deg"),
        Band("local_incidence_angle", "Incidence angle on the terrain", gsd=10.0, unit="deg"),
    )
    start = date(2014, 10, 3)
    time_description = "Irregular: ascending and descending passes, 6 or 12 days apart per orbit."
    summaries: ClassVar[Mapping[str, Any]] = {
        "platform": ["sentinel-1a", "sentinel-1b", "sentinel-1c"],
        "constellation": ["sentinel-1"],
        "instruments": ["c-sar"],
        "sar:instrument_mode": ["IW"],
        "sar:polarizations": ["VV", "VH"],
        "sar:frequency_band": ["C"],
        "sat:orbit_state": ["ascending", "descending"],
    }

    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """The days on which a Sentinel-1 IW swath covers part of the bbox (either direction)."""
        return orbit_acquisitions(
            "sentinel-1",
            bbox4326,
            first,
            stop,
            {
                "sar:instrument_mode": "IW",
                "sar:polarizations": ["VV", "VH"],
                "sar:product_type": "GRD",
            },
        )

    def queryable_properties(self) -> dict[str, dict[str, Any]]:
        """Orbit state, relative orbit, instrument mode, polarisations, platform."""
        return {
            "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
            "sat:relative_orbit": {"type": "integer", "minimum": 1, "maximum": _TRACKS},
            "sar:instrument_mode": {"type": "string", "enum": ["IW"]},
            "sar:polarizations": {
                "type": "array",
                "items": {"type": "string", "enum": ["VV", "VH"]},
            },
            "sar:product_type": {"type": "string", "enum": ["GRD"]},
            "platform": {"type": "string", "enum": ["sentinel-1a", "sentinel-1b", "sentinel-1c"]},
        }

    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """One band of one chunk per acquisition."""
        out = np.empty((len(acquisitions), *tile.shape), dtype=np.float32)
        st = optical.static(tile)
        for i, acq in enumerate(acquisitions):
            theta_e, theta_l = _angles(tile, acq.properties["sat:orbit_state"])
            if band.name == "incidence_angle":
                out[i] = np.degrees(theta_e)
                continue
            if band.name == "local_incidence_angle":
                out[i] = np.degrees(theta_l)
                continue
            gamma0 = _gamma0(tile, st, band.name, acq.day)
            sin_l = np.maximum(np.sin(theta_l), 0.02)
            sigma0 = gamma0 * np.maximum(np.cos(theta_l), 0.01) * np.sin(theta_e) / sin_l
            iy, ix = tile.pixel_index
            pol = 0 if band.name == "VV" else 1
            out[i] = sigma0 * gamma_speckle(_SPECKLE + tile.grid.epsg, acq.day, pol, iy, ix)
        return out


def gamma_speckle(seed: int, *coords: NDArray[np.integer] | int) -> NDArray[np.float64]:
    """Unit-mean gamma(4, 1/4) speckle: the mean of four exponentials from two 64-bit hashes."""
    product = np.ones(np.broadcast(*(np.asarray(c) for c in coords)).shape, dtype=np.float64)
    for k in (0, 1):
        h = hash_ints(seed + k, *coords)
        for part in (h >> np.uint64(32), h & np.uint64(0xFFFFFFFF)):
            product *= (part.astype(np.float64) + 0.5) * (1.0 / 2**32)
    return -np.log(product) / 4.0


def _angles(tile: Tile, orbit_state: str) -> tuple[Fields, Fields]:
    """Ellipsoid and local incidence angles (radians) for a pass direction."""
    lon_n = tile.node_lonlat[0]
    across = ((lon_n + 180.0) / 360.0 * _TRACKS) % 1.0
    if orbit_state == "ascending":
        across = 1.0 - across
    theta_e = np.radians(29.1 + 16.9 * across)
    # Terrain slope from the node lattice (node spacing in metres).
    elev = node_static(tile).elevation  # cached per chunk
    spacing = tile.grid.node_step * tile.grid.rx
    dz_dy, dz_dx = np.gradient(elev, spacing)
    dz_dy = -dz_dy  # rows run southwards
    # Unit vector from the ground to the sensor: east for descending (right-looking, heading south).
    east = 1.0 if orbit_state == "descending" else -1.0
    sx, sz = east * np.sin(theta_e), np.cos(theta_e)
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    cos_l = (-dz_dx * sx + sz) / norm
    theta_l = np.arccos(np.clip(cos_l, -1.0, 1.0))
    return tile.interp(theta_e), tile.interp(theta_l)


def _gamma0(tile: Tile, st: optical.Static, pol: str, day: float) -> Fields:
    """Terrain-flattened γ⁰ (linear) from land cover, vegetation season, soil moisture and snow."""
    k = 0 if pol == "VV" else 1
    veg = optical.greenness(st.lat, day, st.phase) * st.vigour * (1.0 - st.aridity)
    crop_db = (-12.5 + 4.0 * veg) if k == 0 else (-21.0 + 7.0 * veg)
    db = np.where(st.forest, _GAMMA0_DB["forest"][k], crop_db)
    db = np.where(st.bare | (st.aridity > 0.7), _GAMMA0_DB["bare"][k], db)
    db = np.where(st.urban, _GAMMA0_DB["urban"][k], db)
    lon_n, lat_n = tile.node_lonlat
    wetness = tile.interp(world.cloudiness(lon_n, lat_n, day))  # recent rain brightens soil
    temp = tile.interp(world.temperature(lat_n, node_static(tile).elevation, day))
    db = db + 2.5 * (wetness - 0.5) * (1.0 - st.aridity) - np.where(temp < -1.0, 3.0, 0.0)
    if st.any_water:
        # Open water is a dark mirror; wind roughens it and sends some power back.
        breeze = tile.interp(world.wind(lon_n, lat_n, day))
        calm_db, windy_db = _WATER_DB[k]
        water_db = calm_db + (windy_db - calm_db) * np.clip(0.5 + 0.3 * breeze, 0.0, 1.0)
        db = np.where(st.water, water_db, db)
    return np.asarray(10.0 ** (db / 10.0), dtype=np.float64)

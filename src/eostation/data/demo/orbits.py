"""Orbits and swaths of the demo world's satellites: when each one sees a bounding box.

A sun-synchronous, circular, repeat-ground-track model. A satellite crosses the
ascending node (ANX) every nodal period ``P = cycle / orbits_per_cycle``; between
nodes its argument of latitude ``u`` grows linearly. On the sphere the sub-satellite
point is::

    lat = asin(sin i · sin u)
    local mean solar time = LTAN + atan2(cos i · sin u, cos u) / 15°/h

because the orbit plane precesses with the mean Sun, so the Earth turns under it at
exactly one turn per mean solar day: the local solar time of the sub-satellite point
depends on ``u`` alone (10:30 at the descending node for Sentinel-2, about 11:05 at
46° N) and its longitude follows from the UTC time. After one repeat cycle the ground
track repeats exactly. The swath is a band of fixed width on the ground, centred on the
ground track or offset to the right of the flight direction (Sentinel-1's SAR looks
right, 345–617 km from nadir for IW; OLCI is tilted 12.6° west, away from the Sun).

Real facts behind the numbers: repeat cycles (S1 12 d/175 orbits, S2 10 d/143,
S3 27 d/385, S5P 16 d/227), inclinations, local times at the nodes, swath widths,
launch and end-of-life dates, the 180° phasing of the A/B pairs (140° for S3) and
real passes as anchors: S2A absolute orbit 41489 (relative 22) over tile 32TPS on
2023-06-02 at 10:18:03 UTC, S2B 17693 (relative 78) over 35MNM on 2020-07-26, the
S1A IW ascending slice of 2015-03-09 17:30 over the Camargue, the S3A OLCI frame of
2017-04-14 10:24 over East Anglia and the S5P orbit 24725 over Queensland on
2022-07-22. Absolute orbits without a real anchor are counted from launch, so they are
approximate; relative orbits follow the same ground tracks as the anchored satellite
of the pair. Not modelled: orbit eccentricity, the equation of time, manoeuvres, data
gaps and the end of imaging at night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import shapely
from shapely.geometry import LineString, Point, box
from shapely.geometry.base import BaseGeometry

from .fleet import FLEET, Satellite, track, u_at

__all__ = ["MISSIONS", "Pass", "Satellite", "passes", "satellites"]


_EARTH_KM = 6371.0088
_DAY_S = 86_400.0
#: Samples of a swath per degree of argument of latitude (one every ~17 s for S2).
_SAMPLES_PER_DEG = 1.0


@dataclass(frozen=True)
class Pass:
    """One satellite's pass over a bounding box."""

    mission: str  # "sentinel-1" | "sentinel-2" | "sentinel-3" | "sentinel-5p"
    platform: str  # "sentinel-2a", "sentinel-1a", "sentinel-3b", "sentinel-5p", ...
    relative_orbit: int
    absolute_orbit: int
    orbit_state: str  # "ascending" | "descending"
    start: datetime  # UTC: when the swath reaches the bbox ...
    end: datetime  # ... and leaves it (equal for a point)
    footprint: BaseGeometry  # EPSG:4326: the part of the bbox inside the swath


def _offset(
    lon: np.ndarray, lat: np.ndarray, bearing: np.ndarray, km: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``km`` away along great circles with the given bearings (degrees)."""
    d = km / _EARTH_KM
    p1, l1, b = np.radians(lat), np.radians(lon), np.radians(bearing)
    p2 = np.arcsin(np.sin(p1) * math.cos(d) + np.cos(p1) * math.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(
        np.sin(b) * math.sin(d) * np.cos(p1), math.cos(d) - np.sin(p1) * np.sin(p2)
    )
    return np.asarray(np.degrees(l2)), np.asarray(np.degrees(p2))


def _bearing(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Flight direction along a sampled track (degrees from north)."""
    x = np.gradient(lon) * np.cos(np.radians(lat))
    y = np.gradient(lat)
    return np.asarray(np.degrees(np.arctan2(x, y)))


def _area(bbox: tuple[float, float, float, float]) -> BaseGeometry:
    w, s, e, n = bbox
    if w == e and s == n:
        return Point(w, s)
    if w == e or s == n:
        return LineString([(w, s), (e, n)])
    return box(w, s, e, n)


def _candidates(
    sat: Satellite, bbox: tuple[float, float, float, float], branch: str, t0: float, t1: float
) -> np.ndarray:
    """ANX times (epoch seconds) of the orbits whose swath may reach the bbox on a branch."""
    w, s, e, n = bbox
    lon_c, lat_c = (w + e) / 2, (s + n) / 2
    p = sat.period_s
    anx0 = sat.anx0.timestamp()
    k0 = math.floor((t0 - anx0) / p) - 1
    k1 = math.ceil((t1 - anx0) / p) + 1
    anx = anx0 + p * np.arange(k0, k1 + 1, dtype=np.float64)
    u = u_at(lat_c, sat.inclination, branch)
    lon, lat = track(sat, 0.0, np.array([u - 0.05, u, u + 0.05]))
    # Longitudes of all tracks at the bbox's latitude: the node longitude moves by the
    # Earth's turn during one period, so only the UTC time of the crossing changes.
    lon_tracks = lon[1] - 15.0 * ((anx % _DAY_S) / 3600.0)
    dlon = (lon_tracks - lon_c + 180.0) % 360.0 - 180.0
    cos_lat = max(math.cos(math.radians(lat_c)), 0.02)
    half_diag = math.hypot((e - w) * cos_lat, n - s) / 2 * 111.2
    reach = abs(sat.offset_km) + sat.swath_km / 2 + half_diag + 100.0
    # An east-west distance d is d·|cos(heading)| across the track.
    heading = _bearing(lon, lat)[1]
    across = max(abs(math.cos(math.radians(heading))), 0.1)
    keep = np.abs(dlon) * cos_lat * 111.2 * across <= reach
    return np.asarray(anx[keep])


def _passes(
    sat: Satellite,
    bbox: tuple[float, float, float, float],
    area: BaseGeometry,
    branch: str,
    anx: np.ndarray,
) -> list[Pass]:
    """The passes of the orbits starting at ``anx`` whose swath reaches the bbox.

    Every orbit of a satellite has the same swath shape, shifted in longitude by the
    Earth's turn since midnight UTC at its ANX: one template, shifted per orbit.
    """
    w, s, e, n = bbox
    lon_c = (w + e) / 2
    margin = (sat.swath_km / 2 + abs(sat.offset_km)) / 111.2 + 0.5
    ua, ub = (u_at(lat, sat.inclination, branch) for lat in (s - margin, n + margin))
    if abs(ua - ub) < 1e-9:  # beyond the track's highest latitude: around the turn
        ua, ub = 90.0 - 3 * margin, 90.0 + 3 * margin
    lo, hi = min(ua, ub), max(ua, ub)
    count = max(8, math.ceil((hi - lo) * _SAMPLES_PER_DEG) + 1)
    u = np.linspace(lo, hi, count)
    lon, lat = track(sat, 0.0, u)
    heading = _bearing(lon, lat)
    near, far = sat.offset_km - sat.swath_km / 2, sat.offset_km + sat.swath_km / 2
    left = np.column_stack(_offset(lon, lat, heading + 90.0, near))
    right = np.column_stack(_offset(lon, lat, heading + 90.0, far))
    shift = -15.0 * (anx % _DAY_S) / 3600.0
    shift -= 360.0 * np.round((lon[count // 2] + shift - lon_c) / 360.0)
    ring = np.concatenate([left, right[::-1], left[:1]])
    rings = np.repeat(ring[None], len(anx), axis=0)
    rings[:, :, 0] += shift[:, None]
    swaths = shapely.polygons(rings)
    bad = ~shapely.is_valid(swaths)
    swaths[bad] = shapely.buffer(swaths[bad], 0)
    footprints = shapely.intersection(swaths, area)
    hit = np.flatnonzero(~shapely.is_empty(footprints))
    if not hit.size:
        return []
    segments = np.repeat(np.stack([left, right], axis=1)[None], hit.size, axis=0)
    segments[..., 0] += shift[hit, None, None]
    across = shapely.intersects(shapely.linestrings(segments.reshape(-1, 2, 2)), area)
    across = across.reshape(hit.size, count)
    out = []
    for row, k in enumerate(hit):
        t = anx[k] + u / 360.0 * sat.period_s
        inside = np.flatnonzero(across[row])
        t_in, t_out = (t[inside[0]], t[inside[-1]]) if inside.size else (t[count // 2],) * 2
        absolute = sat.abs0 + round((anx[k] - sat.anx0.timestamp()) / sat.period_s)
        out.append(
            Pass(
                mission=sat.mission,
                platform=sat.platform,
                relative_orbit=sat.relative_orbit(absolute),
                absolute_orbit=absolute,
                orbit_state=branch,
                start=datetime.fromtimestamp(float(t_in), UTC),
                end=datetime.fromtimestamp(float(t_out), UTC),
                footprint=footprints[k],
            )
        )
    return out


#: The missions :func:`passes` knows.
MISSIONS = tuple(FLEET)


def satellites(mission: str) -> tuple[Satellite, ...]:
    """The platforms of a mission, in launch order."""
    return FLEET[mission]


def passes(
    mission: str, bbox4326: tuple[float, float, float, float], start: datetime, end: datetime
) -> list[Pass]:
    """Passes of a mission's platforms whose swath covers part of ``bbox4326``.

    ``bbox4326`` is ``(west, south, east, north)`` in degrees (``west > east`` crosses
    the antimeridian; a point or a line is allowed); a pass counts when it reaches the
    bbox at a time in ``[start, end)`` (timezone-aware). Only the orbit states in which
    the mission acquires are returned (descending for S2 and S3, ascending for S5P,
    both for S1). Sorted by time.
    """
    w, s, e, n = bbox4326
    parts = [(w, s, 180.0, n), (-180.0, s, e, n)] if w > e else [(w, s, e, n)]
    found: dict[tuple[str, int, str], Pass] = {}
    for sat in FLEET[mission]:
        lo = max(start, sat.first).timestamp()
        hi = min(end, sat.last).timestamp() if sat.last else end.timestamp()
        if hi <= lo:
            continue
        for part in parts:
            area = _area(part)
            for branch in sat.branches:
                anx = _candidates(sat, part, branch, lo, hi)
                for p in _passes(sat, part, area, branch, anx):
                    if not lo <= p.start.timestamp() < hi:
                        continue
                    key = (p.platform, p.absolute_orbit, p.orbit_state)
                    if key in found:  # the other side of the antimeridian
                        old = found[key]
                        p = replace(
                            old,
                            start=min(old.start, p.start),
                            end=max(old.end, p.end),
                            footprint=old.footprint.union(p.footprint),
                        )
                    found[key] = p
    return sorted(found.values(), key=lambda p: (p.start, p.platform))

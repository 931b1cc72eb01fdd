"""The satellites of the demo world: orbits, swaths, operating periods and real anchors.

See :mod:`.orbits` for the model and the facts behind the numbers. Each satellite is
pinned to a real pass (time and latitude, or place and day) and an absolute orbit;
the rest follows from the repeat cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["FLEET", "Satellite", "track", "u_at"]

_DAY_S = 86_400.0


@dataclass(frozen=True)
class Satellite:
    """One platform of a mission: its orbit, swath, operating period and numbering."""

    mission: str
    platform: str
    inclination: float  # degrees
    ltan: float  # mean local solar time at the ascending node, hours
    cycle_days: int
    orbits_per_cycle: int
    swath_km: float
    offset_km: float  # swath centre, to the right of the flight direction
    branches: tuple[str, ...]  # orbit states in which it acquires
    anx0: datetime  # an ascending-node crossing ...
    abs0: int  # ... its absolute orbit ...
    rel0: int  # ... and relative orbit
    first: datetime
    last: datetime | None = None

    @property
    def period_s(self) -> float:
        """Nodal period in seconds."""
        return self.cycle_days * _DAY_S / self.orbits_per_cycle

    def relative_orbit(self, absolute: int) -> int:
        """The relative orbit (ground track, 1..orbits_per_cycle) of an absolute orbit.

        0 for a mission without relative orbits (``rel0 == 0``: Sentinel-5P).
        """
        if self.rel0 == 0:
            return 0
        return (self.rel0 - 1 + absolute - self.abs0) % self.orbits_per_cycle + 1


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def u_at(lat: float, inclination: float, branch: str) -> float:
    """Argument of latitude (degrees) where the track reaches ``lat`` on a branch."""
    limit = 180.0 - inclination if inclination > 90 else inclination
    s = math.sin(math.radians(max(-limit, min(limit, lat)))) / math.sin(math.radians(inclination))
    u = math.degrees(math.asin(max(-1.0, min(1.0, s))))
    return u if branch == "ascending" else 180.0 - u


def track(sat: Satellite, anx: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-satellite (lon, lat) in degrees at arguments of latitude ``u`` after an ANX.

    ``anx`` is in seconds since the Unix epoch; longitudes are not wrapped.
    """
    i = math.radians(sat.inclination)
    ur = np.radians(u)
    lat = np.degrees(np.arcsin(math.sin(i) * np.sin(ur)))
    dlon = np.degrees(np.arctan2(math.cos(i) * np.sin(ur), np.cos(ur)))
    dlon += 360.0 * np.round((u - dlon) / 360.0)  # continuous in u
    lst = sat.ltan + dlon / 15.0
    t = anx + u / 360.0 * sat.period_s
    utc_hours = (t % _DAY_S) / 3600.0
    return 15.0 * (lst - utc_hours), lat


def _anx_before(sat: Satellite, lat: float, branch: str, when: datetime) -> datetime:
    """The ANX of the orbit whose track reaches ``lat`` on ``branch`` at ``when``."""
    u = u_at(lat, sat.inclination, branch)
    return when - timedelta(seconds=u / 360.0 * sat.period_s)


def _anx_over(sat: Satellite, lon: float, lat: float, branch: str, day: datetime) -> datetime:
    """The ANX of the orbit whose track passes over (lon, lat) on ``branch`` on ``day``."""
    u = u_at(lat, sat.inclination, branch)
    track_lon, _ = track(sat, 0.0, np.array([u]))
    # _track gives 15°·(LST − UTC hours since the ANX's day): solve for the crossing time.
    hours = ((float(track_lon[0]) - lon) / 15.0) % 24.0
    when = day + timedelta(hours=hours)
    return _anx_before(sat, lat, branch, when)


def _after(sat: Satellite, anx: datetime, launch: datetime, shift_days: float) -> datetime:
    """``anx`` shifted by ``shift_days`` and then by whole repeat cycles to just after launch."""
    cycle = timedelta(days=sat.cycle_days)
    moved = anx + timedelta(days=shift_days)
    return moved + cycle * math.ceil((launch - moved) / cycle)


def _counted(sat: Satellite, launch: datetime, rel_offset: int | None = None) -> Satellite:
    """``sat`` with its absolute orbit counted from launch (and snapped to a numbering rule).

    ``rel_offset`` is ``k`` in the mission's rule ``relative = (absolute - k) mod N + 1``;
    the count moves by at most half a cycle to obey it.
    """
    p = sat.period_s
    absolute = round((sat.anx0 - launch).total_seconds() / p) + 1
    if rel_offset is not None:
        n = sat.orbits_per_cycle
        delta = (sat.rel0 - ((absolute - rel_offset) % n + 1) + n // 2) % n - n // 2
        absolute += delta
    return replace(sat, abs0=absolute)


def _build() -> dict[str, tuple[Satellite, ...]]:
    never = _utc(2000, 1, 1)  # replaced by each satellite's anchor
    s2a = Satellite(
        "sentinel-2",
        "sentinel-2a",
        98.62,
        22.5,
        10,
        143,
        290.0,
        0.0,
        ("descending",),
        never,
        41489,
        22,
        _utc(2015, 6, 27),
        _utc(2025, 1, 21),
    )
    # Earth Search item S2A_32TPS_20230602_0_L2A: datatake A041489, R022, tile centre 46.44° N.
    s2a = replace(
        s2a,
        anx0=_anx_before(s2a, 46.44, "descending", datetime(2023, 6, 2, 10, 18, 3, 169000, UTC)),
    )
    # Planetary Computer items of 35MNM: S2B A017693 (R078) flew S2A's A026673 track 5 days earlier.
    anx_26673 = s2a.anx0 - timedelta(seconds=(41489 - 26673) * s2a.period_s)
    s2b = replace(
        s2a,
        platform="sentinel-2b",
        abs0=17693,
        rel0=78,
        first=_utc(2017, 7, 6),
        last=None,
        anx0=anx_26673 - timedelta(days=5),
    )
    s2c = replace(
        s2a,
        platform="sentinel-2c",
        first=_utc(2025, 1, 21),
        last=None,
        anx0=_after(s2a, s2a.anx0, _utc(2025, 1, 21), 0),
    )
    s2c = _counted(s2c, _utc(2024, 9, 5, 1, 50))

    s1a = Satellite(
        "sentinel-1",
        "sentinel-1a",
        98.18,
        18.0,
        12,
        175,
        250.0,
        481.0,
        ("ascending", "descending"),
        never,
        0,
        1,
        _utc(2014, 10, 3),
    )
    # The S1A IW GRD slice of 2015-03-09 17:30:17 (ascending) over the Camargue, 43.59° N.
    s1a = replace(s1a, anx0=_anx_before(s1a, 43.59, "ascending", _utc(2015, 3, 9, 17, 30, 17)))
    s1a = _counted(s1a, _utc(2014, 4, 3, 21, 2))
    s1a = replace(s1a, rel0=(s1a.abs0 - 73) % 175 + 1)  # ESA's numbering rule for S1A
    s1b = replace(
        s1a,
        platform="sentinel-1b",
        first=_utc(2016, 4, 25),
        last=_utc(2021, 12, 23),
        anx0=_after(s1a, s1a.anx0, _utc(2016, 4, 25), 6),
    )
    s1b = _counted(s1b, _utc(2016, 4, 25, 21, 2), rel_offset=27)  # and for S1B
    s1c = replace(
        s1b,
        platform="sentinel-1c",
        first=_utc(2025, 4, 1),
        last=None,
        anx0=_after(s1a, s1a.anx0, _utc(2025, 4, 1), 6),
    )
    s1c = _counted(s1c, _utc(2024, 12, 5, 21, 20))

    s3a = Satellite(
        "sentinel-3",
        "sentinel-3a",
        98.65,
        22.0,
        27,
        385,
        1270.0,
        185.0,
        ("descending",),
        never,
        0,
        1,
        _utc(2016, 4, 20),
    )
    # The OLCI frame of 2017-04-14 10:27 over East Anglia, 52.5° N.
    s3a = replace(s3a, anx0=_anx_before(s3a, 52.5, "descending", _utc(2017, 4, 14, 10, 27)))
    s3a = _counted(s3a, _utc(2016, 2, 16, 17, 57))
    s3a = replace(s3a, rel0=(s3a.abs0 - 1) % 385 + 1)
    # Sentinel-3B flies 140° apart from 3A in the same plane.
    s3b = replace(
        s3a,
        platform="sentinel-3b",
        first=_utc(2018, 11, 17),
        anx0=_after(s3a, s3a.anx0, _utc(2018, 11, 17), 140 / 360 * s3a.period_s / _DAY_S),
    )
    s3b = _counted(s3b, _utc(2018, 4, 25, 17, 57))
    s3b = replace(s3b, rel0=(s3b.abs0 - 1) % 385 + 1)

    s5p = Satellite(
        "sentinel-5p",
        "sentinel-5p",
        98.74,
        13.5,
        16,
        227,
        2600.0,
        0.0,
        ("ascending",),
        never,
        24725,
        0,
        _utc(2018, 4, 30),
    )
    # TROPOMI CH4 of orbit 24725 over Queensland (149° E, 22.75° S) on 2022-07-22.
    s5p = replace(s5p, anx0=_anx_over(s5p, 149.0, -22.75, "ascending", _utc(2022, 7, 22)))
    return {
        "sentinel-1": (s1a, s1b, s1c),
        "sentinel-2": (s2a, s2b, s2c),
        "sentinel-3": (s3a, s3b),
        "sentinel-5p": (s5p,),
    }


#: The platforms of each mission, in launch order.
FLEET = _build()

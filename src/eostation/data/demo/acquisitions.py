"""When a demo satellite acquires: day numbers, acquisitions and their orbit metadata.

An :class:`Acquisition` is one time label of a demo cube (a day at 00:00 UTC) with the
scene's metadata properties. :func:`orbit_acquisitions` derives them from the simulated
orbits of a mission (:mod:`.orbits`); the sources in :mod:`.source` turn them into the
``t`` axis of a cube.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from eostation.data.base import utc_timestamp

from .orbits import passes

__all__ = ["EPOCH", "Acquisition", "day_number", "first_day_at", "orbit_acquisitions"]

#: Day 0 of the day numbers.
EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


@dataclass(frozen=True)
class Acquisition:
    """One time label of a cube: its day (00:00 UTC) and the scene's metadata properties."""

    day: int
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def date(self) -> date:
        """The calendar date."""
        return EPOCH + timedelta(days=self.day)


def orbit_acquisitions(
    mission: str,
    bbox4326: tuple[float, float, float, float],
    first: int,
    stop: int,
    extra: Mapping[str, Any] | None = None,
) -> list[Acquisition]:
    """One acquisition per day on which a satellite of ``mission`` sees part of the bbox.

    Days are ``[first, stop)`` (day numbers); of several passes on one day (swaths
    overlap towards the poles) the one covering most of the bbox wins, the earlier on a
    tie. Properties: ``platform``, ``datetime`` (when the swath reaches the bbox),
    ``sat:orbit_state``, ``sat:relative_orbit``, ``sat:absolute_orbit`` and ``extra``.
    """
    start = datetime.combine(EPOCH + timedelta(days=first), datetime.min.time(), UTC)
    end = datetime.combine(EPOCH + timedelta(days=stop), datetime.min.time(), UTC)
    best: dict[int, Any] = {}
    for p in passes(mission, bbox4326, start, end):
        day = day_number(p.start.date())
        if day not in best or p.footprint.area > best[day].footprint.area:
            best[day] = p
    return [
        Acquisition(
            day,
            {
                "platform": p.platform,
                "datetime": p.start.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "sat:orbit_state": p.orbit_state,
                "sat:relative_orbit": p.relative_orbit,
                "sat:absolute_orbit": p.absolute_orbit,
                **(extra or {}),
            },
        )
        for day, p in sorted(best.items())
    ]


def first_day_at(value: str) -> int:
    """The first day label (00:00Z) at or after an instant (labels are whole days)."""
    ts = utc_timestamp(value)
    day = (ts.normalize() - pd.Timestamp("1970-01-01")).days
    return int(day + (1 if ts != ts.normalize() else 0))

"""Items from the demo world's orbits: one per satellite pass over a cell.

``eostation.data.demo.orbits.passes`` says when a swath covers an area; an item is a
pass cut to a fixed cell (an MGRS tile, a latitude slice), so its footprint depends
only on the pass and the cell, never on the search area. The acquisition carries the
pass's platform and orbit; its day is the one ``load_collection`` labels.
"""

from __future__ import annotations

from eostation.data.demo.orbits import Pass, passes
from eostation.data.demo.source import Acquisition, day_number

from .base import iso, utc_day

__all__ = ["acquisition_of", "passes_over"]


def passes_over(
    mission: str, bbox4326: tuple[float, float, float, float], first: int, stop: int
) -> list[Pass]:
    """Passes of a mission over a lon/lat bbox on days ``[first, stop)``."""
    if stop <= first:
        return []
    return passes(mission, bbox4326, utc_day(first), utc_day(stop))


def acquisition_of(p: Pass, extra: dict[str, object] | None = None) -> Acquisition:
    """The acquisition (day label and scene properties) of a pass."""
    return Acquisition(
        day_number(p.start.date()),
        {
            "platform": p.platform,
            "datetime": iso(p.start),
            "sat:orbit_state": p.orbit_state,
            "sat:relative_orbit": p.relative_orbit,
            "sat:absolute_orbit": p.absolute_orbit,
            **(extra or {}),
        },
    )

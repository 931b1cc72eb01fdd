"""The constraints of pushdown: what a consumer keeps of a cube, and how they combine.

:class:`Narrowing` is what one consumer of a ``load_collection`` cube keeps (bbox, time
interval, bands). Processes describe it through :func:`register_rule` (and the extra
bands they read through :func:`register_band_needs`); the three filters' rules live
here. :func:`intersect` combines the filters of a chain, :func:`union` the consumers of
one cube. The pass over a graph that uses them is :mod:`eostation.engine.pushdown`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "BAND_NEEDS",
    "RULES",
    "BBox",
    "BandNeeds",
    "Narrowing",
    "Rule",
    "extent_bbox",
    "intersect",
    "later",
    "register_band_needs",
    "register_rule",
    "union",
]

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Narrowing:
    """What a consumer keeps of a cube; ``None`` fields do not constrain.

    ``bbox`` is ``(west, south, east, north)`` in ``crs`` (EPSG code or WKT);
    ``temporal`` a half-open ``(start, end)`` pair of ISO strings, either may be None;
    ``bands`` names or common names.
    """

    bbox: BBox | None = None
    crs: int | str = 4326
    temporal: tuple[str | None, str | None] | None = None
    bands: tuple[str, ...] | None = None
    exact: bool = True
    """False when the bbox may only fill in a load without spatial extent."""


@dataclass(frozen=True)
class Rule:
    """How a process narrows its input cube.

    ``narrowing(arguments)`` receives the node's literal arguments and returns what
    it keeps (None: nothing can be said). ``argument`` names the cube parameter;
    ``passes_through`` is True when the output is the same cube, narrowed (so the
    consumers of the output constrain the input too).
    """

    narrowing: Callable[[Mapping[str, Any]], Narrowing | None]
    argument: str = "data"
    passes_through: bool = True


RULES: dict[str, Rule] = {}


def register_rule(
    process_id: str, *, argument: str = "data", passes_through: bool = True
) -> Callable[[Callable[[Mapping[str, Any]], Narrowing | None]], Any]:
    """Decorator: ``narrowing(arguments) -> Narrowing | None`` becomes the rule of a process.

    For example a spatial aggregation keeps only the bounding box of its polygons
    (``passes_through=False``: its output is a vector cube).
    """

    def register(function: Callable[[Mapping[str, Any]], Narrowing | None]) -> Any:
        RULES[process_id] = Rule(function, argument, passes_through)
        return function

    return register


BandNeeds = Callable[[Mapping[str, Any]], tuple[str, ...]]
BAND_NEEDS: dict[str, tuple[str, BandNeeds]] = {}


def register_band_needs(process_id: str, *, argument: str = "data") -> Callable[[BandNeeds], Any]:
    """Decorator: ``needs(arguments) -> band names`` a process reads besides those asked for.

    When every use of a ``load_collection`` with a band list is such a process, the
    missing bands are added to the load (CDSE loads them behind the scenes too): e.g.
    ``sar_backscatter`` on ``["VV", "VH"]`` needs the incidence-angle bands.
    """

    def register(function: BandNeeds) -> Any:
        BAND_NEEDS[process_id] = (argument, function)
        return function

    return register


def extent_bbox(extent: Mapping[str, Any]) -> BBox:
    """``(west, south, east, north)`` of an openEO bounding box."""
    return (
        float(extent["west"]),
        float(extent["south"]),
        float(extent["east"]),
        float(extent["north"]),
    )


@register_rule("filter_bbox")
def _filter_bbox(arguments: Mapping[str, Any]) -> Narrowing | None:
    extent = arguments.get("extent")
    if not isinstance(extent, Mapping) or not {"west", "south", "east", "north"} <= set(extent):
        return None
    return Narrowing(bbox=extent_bbox(extent), crs=extent.get("crs") or 4326)


@register_rule("filter_temporal")
def _filter_temporal(arguments: Mapping[str, Any]) -> Narrowing | None:
    extent = arguments.get("extent")
    if arguments.get("dimension") not in (None, "t") or not isinstance(extent, list):
        return None
    if len(extent) != 2 or extent == [None, None]:
        return None
    return Narrowing(temporal=(extent[0], extent[1]))


@register_rule("filter_bands")
def _filter_bands(arguments: Mapping[str, Any]) -> Narrowing | None:
    bands = arguments.get("bands")
    if arguments.get("wavelengths") or not isinstance(bands, list) or not bands:
        return None
    return Narrowing(bands=tuple(str(b) for b in bands))


# -- combining constraints -----------------------------------------------------------------


def _time(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def later(a: str | None, b: str | None, pick_later: bool) -> str | None:
    """The later (or earlier) of two bounds; None counts as unbounded in the intersection."""
    if a is None or b is None:
        return b if a is None else a
    ta, tb = _time(a), _time(b)
    return a if (ta >= tb) == pick_later else b  # type: ignore[operator]


def intersect(a: Narrowing, b: Narrowing) -> Narrowing:
    """What a chain of two filters keeps (``a`` is the one closer to the load)."""
    bbox, crs = a.bbox, a.crs
    if bbox is None:
        bbox, crs = b.bbox, b.crs
    elif b.bbox is not None and b.crs == a.crs:
        bbox = (
            max(a.bbox[0], b.bbox[0]),  # type: ignore[index]
            max(a.bbox[1], b.bbox[1]),  # type: ignore[index]
            min(a.bbox[2], b.bbox[2]),  # type: ignore[index]
            min(a.bbox[3], b.bbox[3]),  # type: ignore[index]
        )
    temporal = a.temporal or b.temporal
    if a.temporal and b.temporal:
        temporal = (
            later(a.temporal[0], b.temporal[0], True),
            later(a.temporal[1], b.temporal[1], False),
        )
    exact = (a.exact or a.bbox is None) and (b.exact or b.bbox is None)
    return Narrowing(bbox, crs, temporal, a.bands or b.bands, exact)


def union(items: list[Narrowing]) -> Narrowing:
    """What several consumers keep together (a field is None unless all constrain it)."""
    bbox: BBox | None = None
    crs: int | str = 4326
    boxes = [n for n in items if n.bbox is not None]
    if len(boxes) == len(items):
        crs = boxes[0].crs
        if all(n.crs == crs for n in boxes):
            bbox = (
                min(n.bbox[0] for n in boxes),  # type: ignore[index]
                min(n.bbox[1] for n in boxes),  # type: ignore[index]
                max(n.bbox[2] for n in boxes),  # type: ignore[index]
                max(n.bbox[3] for n in boxes),  # type: ignore[index]
            )
    temporal: tuple[str | None, str | None] | None = None
    if all(n.temporal is not None for n in items):
        starts = [n.temporal[0] for n in items]  # type: ignore[index]
        ends = [n.temporal[1] for n in items]  # type: ignore[index]
        temporal = (
            None if None in starts else min(starts, key=pd.Timestamp),
            None if None in ends else max(ends, key=pd.Timestamp),
        )
    bands: tuple[str, ...] | None = None
    if all(n.bands is not None for n in items):
        bands = tuple(dict.fromkeys(b for n in items for b in n.bands or ()))
    return Narrowing(bbox, crs, temporal, bands, all(n.exact for n in items))

"""The longitude/latitude range check of geometries, shared by execution and ``/validation``.

Polygons with swapped coordinates (latitude 110°) select no pixel and give all-null
results, while a bbox with the same numbers is refused: both paths refuse them with the
same message. This module is light (no shapely, no xarray) because the API's
``/validation`` imports it through the graph validator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

from eostation.errors import ProcessParameterInvalid

__all__ = ["GEOJSON_TYPES", "check_lonlat", "geojson_problem"]

GEOJSON_TYPES: Final = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    }
)

Bounds = tuple[float, float, float, float]


def check_lonlat(bounds: Bounds, process: str, parameter: str) -> None:
    """Raise ``ProcessParameterInvalid`` when ``bounds`` (w, s, e, n in degrees) leave the Earth.

    The message gives the bounds and, when they would fit with the axes exchanged, asks
    whether longitude and latitude are swapped.
    """
    w, s, e, n = bounds
    if not all(math.isfinite(v) for v in bounds):
        raise _invalid(process, parameter, "the geometries have non-finite coordinates.")
    if -180.0 <= w <= e <= 180.0 and -90.0 <= s <= n <= 90.0:
        return
    hint = (
        " Longitude comes first in GeoJSON: are longitude and latitude swapped?"
        if -90.0 <= w <= e <= 90.0 and -180.0 <= s <= n <= 180.0
        else ""
    )
    raise _invalid(
        process,
        parameter,
        f"the geometries span ({w:g}, {s:g}, {e:g}, {n:g}), outside the valid "
        f"longitude/latitude range (-180, -90, 180, 90).{hint}",
    )


def geojson_problem(value: Any, process: str, parameter: str) -> ProcessParameterInvalid | None:
    """The range error of a literal GeoJSON argument in WGS 84, or None.

    Values that are not GeoJSON, carry a (legacy) ``crs`` member or hold no readable
    coordinates are left to the process, which checks them when it runs.
    """
    if not isinstance(value, Mapping) or value.get("type") not in GEOJSON_TYPES:
        return None
    if "crs" in value:
        return None
    xs: list[float] = []
    ys: list[float] = []
    for x, y in _positions(value):
        xs.append(x)
        ys.append(y)
    if not xs:
        return None
    try:
        check_lonlat((min(xs), min(ys), max(xs), max(ys)), process, parameter)
    except ProcessParameterInvalid as err:
        return err
    return None


def _positions(value: Any) -> Iterator[tuple[float, float]]:
    """Every (x, y) position of a GeoJSON object; malformed parts are skipped."""
    if not isinstance(value, Mapping):
        return
    kind = value.get("type")
    if kind == "FeatureCollection":
        for feature in value.get("features") or []:
            yield from _positions(feature)
    elif kind == "Feature":
        yield from _positions(value.get("geometry"))
    elif kind == "GeometryCollection":
        for geometry in value.get("geometries") or []:
            yield from _positions(geometry)
    else:
        yield from _coordinates(value.get("coordinates"))


def _coordinates(value: Any) -> Iterator[tuple[float, float]]:
    if not isinstance(value, list) or not value:
        return
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        if len(value) >= 2:
            yield float(value[0]), float(value[1])
        return
    for item in value:
        yield from _coordinates(item)


def _invalid(process: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process, parameter=parameter, reason=reason)

"""What a ``load_collection`` request asks for, in the forms the sources work with.

:func:`request_area` turns the request's bounding box and geometry into one odc-geo
geometry, :func:`request_interval` its temporal extent into ``datetime64`` bounds; both
raise ``ProcessParameterInvalid`` naming the argument when it cannot be served.
"""

from __future__ import annotations

import math

import numpy as np
from odc.geo import geom

from .base import LoadRequest, load_error, utc_timestamp

__all__ = ["request_area", "request_interval"]


def request_area(request: LoadRequest) -> geom.Geometry | None:
    """The requested area as an odc-geo geometry in the request CRS (None: everything)."""
    if request.geometry is not None:
        area = geom.Geometry(request.geometry, "EPSG:4326")
        return (
            area
            if request.bbox is None
            else area & geom.box(*request.bbox, request.crs).to_crs(4326)
        )
    if request.bbox is None:
        return None
    w, s, e, n = (float(v) for v in request.bbox)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or w >= e or s >= n:
        raise load_error(
            "spatial_extent",
            f"bbox {request.bbox} is empty or not finite (west < east, south < north).",
        )
    try:
        return geom.box(w, s, e, n, request.crs)
    except Exception as exc:  # pyproj raises several unrelated types for a bad CRS
        raise load_error("spatial_extent", f"CRS {request.crs!r} is not usable: {exc}") from exc


def request_interval(
    temporal: tuple[str | None, str | None] | None,
) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """A half-open ``[start, end)`` as UTC-naive ``datetime64[ns]`` (None: open)."""
    out: list[np.datetime64 | None] = []
    for value in temporal or (None, None):
        if value is None:
            out.append(None)
            continue
        ts = utc_timestamp(value)
        out.append(np.datetime64(ts.to_datetime64(), "ns"))
    start, end = out
    if start is not None and end is not None and end <= start:
        raise load_error("temporal_extent", f"[{temporal[0]}, {temporal[1]}) is empty.")  # type: ignore[index]
    return start, end

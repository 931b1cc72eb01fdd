"""The contract every collection source fulfils."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pandas as pd
import xarray as xr

from eostation.errors import ProcessParameterInvalid

__all__ = ["CollectionSource", "LoadRequest", "load_error", "utc_timestamp"]


@dataclass(frozen=True)
class LoadRequest:
    """What ``load_collection`` asks of a source.

    ``bbox`` is ``(west, south, east, north)`` in ``crs`` (an EPSG code or WKT/PROJ string;
    4326 by default). ``geometry`` (GeoJSON, EPSG:4326) narrows further when given.
    ``temporal`` is a half-open ``[start, end)`` pair of ISO strings, either may be None.
    ``bands`` are names or common names, None for all. ``properties`` maps a metadata
    property to a callable ``value -> bool`` (already evaluated condition). ``options``
    carries extra, source-specific load options (e.g. CDSE ``featureflags``).
    """

    bbox: tuple[float, float, float, float] | None = None
    crs: int | str = 4326
    geometry: dict[str, Any] | None = None
    temporal: tuple[str | None, str | None] | None = None
    bands: list[str] | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class CollectionSource(Protocol):
    """A collection: describes itself as STAC and loads lazy cubes."""

    @property
    def id(self) -> str:
        """The collection id, as users pass it to ``load_collection``."""
        ...

    def metadata(self) -> dict[str, Any]:
        """The full STAC Collection (``cube:dimensions``, ``summaries``, extents) without ``links``."""
        ...

    def queryables(self) -> dict[str, Any]:
        """JSON Schema of the properties that ``load_collection(properties=...)`` can filter on."""
        ...

    def load(self, request: LoadRequest) -> xr.DataArray:
        """A lazy cube with dims named as in ``cube:dimensions`` (``t``, ``bands``, ``y``, ``x``)."""
        ...


def load_error(parameter: str, reason: str) -> ProcessParameterInvalid:
    """The error a source raises for a ``load_collection`` argument it cannot serve."""
    return ProcessParameterInvalid(process="load_collection", parameter=parameter, reason=reason)


def utc_timestamp(value: str) -> pd.Timestamp:
    """An ISO 8601 date or date-time of ``temporal_extent`` as a UTC-naive timestamp."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise load_error(
            "temporal_extent", f"'{value}' is not an ISO 8601 date or date-time."
        ) from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts

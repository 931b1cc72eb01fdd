"""``load_collection`` for the engine: look up a source and load a lazy cube."""

from __future__ import annotations

from typing import Any

import xarray as xr

from .base import LoadRequest
from .registry import CollectionRegistry

__all__ = ["BANDS_ATTR", "load_collection"]

BANDS_ATTR = "eo:bands"
"""Attribute of the ``bands`` coordinate that holds the STAC ``eo:bands`` entries of the
loaded bands (name, common_name, center_wavelength); the engine reads band common
names and wavelengths from it (see ``eostation.engine.cube``)."""


def load_collection(
    registry: CollectionRegistry, collection_id: str, request: LoadRequest
) -> xr.DataArray:
    """A lazy cube ``(t, bands, y, x)`` of a collection (``CollectionNotFound`` for unknown ids).

    When the source does not describe its bands on the cube, the collection's
    ``summaries["eo:bands"]`` are attached to the ``bands`` coordinate.
    """
    source = registry.get(collection_id)
    cube = source.load(request)
    if "bands" in cube.coords and BANDS_ATTR not in cube["bands"].attrs:
        summaries: dict[str, Any] = source.metadata().get("summaries", {})
        entries = [e for e in summaries.get(BANDS_ATTR, []) if isinstance(e, dict)]
        if entries:
            cube = cube.copy(deep=False)
            cube["bands"].attrs[BANDS_ATTR] = entries
    return cube

"""``load_collection`` for the engine: look up a source and load a lazy cube."""

from __future__ import annotations

import xarray as xr

from .base import LoadRequest
from .registry import CollectionRegistry

__all__ = ["load_collection"]


def load_collection(
    registry: CollectionRegistry, collection_id: str, request: LoadRequest
) -> xr.DataArray:
    """A lazy cube ``(t, bands, y, x)`` of a collection (``CollectionNotFound`` for unknown ids)."""
    return registry.get(collection_id).load(request)

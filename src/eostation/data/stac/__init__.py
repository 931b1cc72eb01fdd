"""Collections backed by a STAC API or a static STAC catalogue, loaded with odc-stac
(``type = "stac"`` in ``collections.toml``), and the ``load_stac`` backend function."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .load import LoadOptions, load_items, load_stac
from .source import StacCollection, StacCollectionConfig, parse_stac_collection

__all__ = [
    "LoadOptions",
    "StacCollection",
    "StacCollectionConfig",
    "load_items",
    "load_stac",
    "stac_collection",
]


def stac_collection(entry: Mapping[str, Any], root: Path) -> StacCollection:
    """Validate a ``collections.toml`` entry of ``type = "stac"`` (nothing is fetched yet)."""
    return StacCollection(parse_stac_collection(entry, root))

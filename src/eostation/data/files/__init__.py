"""Local GeoTIFF/COG, netCDF and Zarr files as collections (``type = "files"`` in
``collections.toml``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eostation.data.config import CollectionConfigError

from .config import FileCollectionConfig, parse_file_collection
from .source import FileCollection

__all__ = [
    "CollectionConfigError",
    "FileCollection",
    "FileCollectionConfig",
    "file_collection",
]


def file_collection(entry: Mapping[str, Any], root: Path) -> FileCollection:
    """Validate a ``collections.toml`` entry and scan its files (paths relative to ``root``)."""
    return FileCollection(parse_file_collection(entry, root))

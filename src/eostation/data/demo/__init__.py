"""The demo world: procedurally generated Copernicus-like collections with CDSE ids."""

from __future__ import annotations

from eostation.data.base import CollectionSource

from .sentinel2 import Sentinel2L2A
from .source import DemoSource

__all__ = ["DemoSource", "demo_sources"]


def demo_sources() -> list[CollectionSource]:
    """One instance of every demo collection."""
    return [Sentinel2L2A()]

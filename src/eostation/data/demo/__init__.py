"""The demo world: procedurally generated Copernicus-like collections with CDSE ids."""

from __future__ import annotations

from eostation.data.base import CollectionSource

from .dem import CopernicusDem30
from .sentinel1 import Sentinel1GRD
from .sentinel2 import Sentinel2L2A
from .sentinel3 import OlciL1B, SlstrL1B, SynL2
from .sentinel3_lst import SlstrL2Lst
from .sentinel5p import Sentinel5PL2
from .source import DemoSource

__all__ = ["DemoSource", "demo_sources"]


def demo_sources() -> list[CollectionSource]:
    """One instance of every demo collection."""
    return [
        Sentinel2L2A(),
        Sentinel1GRD(),
        OlciL1B(),
        SlstrL1B(),
        SynL2(),
        SlstrL2Lst(),
        Sentinel5PL2(),
        CopernicusDem30(),
    ]

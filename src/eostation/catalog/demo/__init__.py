"""Catalogue collections over the demo world: CDSE STAC ids, items computed per query."""

from __future__ import annotations

from eostation.data.demo.dem import CopernicusDem30
from eostation.data.demo.sentinel1 import Sentinel1GRD
from eostation.data.demo.sentinel2 import Sentinel2L2A
from eostation.data.demo.sentinel3 import OlciL1B, SlstrL1B, SynL2
from eostation.data.demo.sentinel3_lst import SlstrL2Lst
from eostation.data.demo.sentinel5p import Sentinel5PL2
from eostation.data.demo.source import DemoSource

from .base import Cell, DemoCollection, Stub, search_stubs
from .others import DemCollection, S1Collection, S3Collection, S5PCollection
from .sentinel2 import S2Collection

__all__ = ["Cell", "DemoCollection", "Stub", "demo_collection", "search_stubs"]


def demo_collection(source: object) -> DemoCollection | None:
    """The catalogue collection of a demo source (None for any other source)."""
    if not isinstance(source, DemoSource):
        return None
    if isinstance(source, Sentinel2L2A):
        return S2Collection(source)
    if isinstance(source, Sentinel1GRD):
        return S1Collection(source)
    if isinstance(source, OlciL1B):
        return S3Collection(source, "sentinel-3-olci-1-efr", "OL_1_EFR___", "olci")
    if isinstance(source, SlstrL1B):
        return S3Collection(source, "sentinel-3-sl-1-rbt", "SL_1_RBT___", "slstr")
    if isinstance(source, SlstrL2Lst):
        return S3Collection(source, "sentinel-3-sl-2-lst", "SL_2_LST___", "slstr")
    if isinstance(source, SynL2):
        return S3Collection(source, "sentinel-3-syn-2-syn", "SY_2_SYN___", "synergy")
    if isinstance(source, Sentinel5PL2):
        return S5PCollection(source)
    if isinstance(source, CopernicusDem30):
        return DemCollection(source)
    return None

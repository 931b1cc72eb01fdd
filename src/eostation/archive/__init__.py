"""The HEALPix/Zarr archive: layout, ingest, query, regrid to a regular grid."""

from __future__ import annotations

from .archive import Archive, IngestReport
from .grid import HealpixGrid
from .layout import Encoding

__all__ = ["Archive", "Encoding", "HealpixGrid", "IngestReport"]

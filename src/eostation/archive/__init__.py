"""The HEALPix/Zarr archive: layout, ingest, query, regrid to a regular grid.

The names below are imported on first use: ``eostation.archive.cli`` is imported by every
``eostation`` command, and the archive's modules pull in xarray, zarr and healpix-geo,
which only the archive commands need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .archive import Archive, IngestReport
    from .grid import HealpixGrid
    from .layout import Encoding

__all__ = ["Archive", "Encoding", "HealpixGrid", "IngestReport"]

_WHERE = {
    "Archive": ".archive",
    "IngestReport": ".archive",
    "HealpixGrid": ".grid",
    "Encoding": ".layout",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

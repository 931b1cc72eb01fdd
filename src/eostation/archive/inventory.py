"""What an archive holds: bands, encodings, dates, coverage and size in storage."""

from __future__ import annotations

from typing import Any

import numpy as np
from healpix_geo import nested

from .layout import ArchiveStore

__all__ = ["describe", "stored_shards"]


def stored_shards(store: ArchiveStore, band: str) -> dict[int, list[int]]:
    """Shard ids holding data per time index of a band, from the manifest (no listing)."""
    return store.stored_shards(band)


def describe(store: ArchiveStore) -> dict[str, Any]:
    """A JSON-able summary of the archive."""
    g = store.grid
    times = store.times()
    bands: dict[str, Any] = {}
    shards: set[int] = set()
    total = 0
    for band in store.bands():
        per_t = stored_shards(store, band)
        size = store.state.sizes.get(band, 0)
        total += size
        for ids in per_t.values():
            shards.update(ids)
        bands[band] = {
            "encoding": store.encoding(band).attrs(),
            "bytes": size,
            "shards": sum(len(v) for v in per_t.values()),
        }
    bbox = None
    if shards:
        shard_ids = np.array(sorted(shards), dtype=np.uint64)
        lon, lat = nested.vertices(shard_ids, g.shard_level, ellipsoid="WGS84")
        bbox = [float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))]
    return {
        "path": store.location.url,
        "grid": g.dggs_attrs() | {"cell_size_m": round(g.cell_size, 2)},
        "dates": [str(t) for t in np.sort(times)],
        "bands": bands,
        "bytes": total,
        "coverage_bbox": bbox,
        "shard_cells": sorted(int(s) for s in shards),
    }

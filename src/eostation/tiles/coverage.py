"""What the archive-backed collections hold, per band and date, as shapes for a map.

The archive stores data in shards (HEALPix cells at the grid's ``shard_level``); a shard
of a band and date exists on disk only where something was ingested. The dashboard's
archive page draws these cells and colours those that hold the chosen band and date.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from healpix_geo import nested

from eostation.archive.inventory import stored_shards
from eostation.data.archive_source import ArchiveSource
from eostation.data.registry import CollectionRegistry

__all__ = ["archive_coverage"]


def _cells(shards: list[int], level: int) -> list[dict[str, Any]]:
    if not shards:
        return []
    ids = np.array(shards, dtype=np.uint64)
    lon, lat = nested.vertices(ids, level, ellipsoid="WGS84")
    features = []
    for i, shard in enumerate(shards):
        ring = [[float(x), float(y)] for x, y in zip(lon[i], lat[i], strict=True)]
        features.append(
            {
                "type": "Feature",
                "properties": {"shard": shard},
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            }
        )
    return features


def archive_coverage(collections: CollectionRegistry) -> list[dict[str, Any]]:
    """Per archive collection: its dates, and per band the shards stored for each date.

    ``shards`` is a GeoJSON FeatureCollection of every shard cell that holds any data;
    ``coverage[band][date]`` lists the shard ids that hold that band on that date.
    """
    out = []
    for source in collections.all():
        if not isinstance(source, ArchiveSource) or not source.archive.exists:
            continue
        store = source.archive.store
        dates = [str(t)[:19] + "Z" for t in store.times()]
        coverage: dict[str, dict[str, list[int]]] = {}
        every: set[int] = set()
        for band in store.bands():
            per_t = stored_shards(store, band)
            coverage[band] = {dates[t]: ids for t, ids in sorted(per_t.items()) if t < len(dates)}
            every.update(i for ids in per_t.values() for i in ids)
        out.append(
            {
                "id": source.id,
                "title": source.title,
                "dates": sorted(dates),
                "bands": store.bands(),
                "coverage": coverage,
                "shards": {
                    "type": "FeatureCollection",
                    "features": _cells(sorted(every), store.grid.shard_level),
                },
            }
        )
    return out

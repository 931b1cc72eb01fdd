"""The items of a HEALPix/Zarr archive collection: one per stored date and shard cell.

An archive stores each band as ``values[time, cell]`` in shards, one shard per
``shard_level`` HEALPix cell. What was ingested is therefore a set of (date, shard) pairs;
each becomes a STAC item whose footprint is the shard cell's outline and whose datetime
is the date. The item is loadable as it is: ``load_collection(<collection>,
spatial_extent=<item bbox>, temporal_extent=[<date>, <next day>])`` reads its pixels (the
``eostation:load`` property spells these arguments out). The items are mirrored into the
items index (:class:`ArchiveIndexer`), refreshed whenever the stored shards changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from healpix_geo import nested

from eostation.archive.inventory import stored_shards

from .index import ItemIndex

__all__ = ["ArchiveIndexer", "archive_items"]

log = logging.getLogger("eostation.catalog")


def _holdings(store: Any) -> dict[tuple[int, int], list[str]]:
    """Bands stored per (time index, shard cell) of an ``ArchiveStore``."""
    held: dict[tuple[int, int], list[str]] = defaultdict(list)
    for band in store.bands():
        for t, shards in stored_shards(store, band).items():
            for shard in shards:
                held[(t, shard)].append(band)
    return dict(held)


def _footprint(shard: int, level: int) -> tuple[list[list[float]], list[float]]:
    """The outline ring and lon/lat bbox of a nested HEALPix cell."""
    lon, lat = nested.vertices(np.array([shard], dtype=np.uint64), level, ellipsoid="WGS84")
    lons = [float(v) for v in np.ravel(lon)]
    lats = [float(v) for v in np.ravel(lat)]
    if max(lons) - min(lons) > 180.0:  # a cell on the antimeridian: keep the ring contiguous
        lons = [v + 360.0 if v < 0 else v for v in lons]
    ring = [[x, y] for x, y in zip(lons, lats, strict=True)]
    ring.append(ring[0])
    return ring, [min(lons), min(lats), max(lons), max(lats)]


def archive_items(source: Any) -> list[dict[str, Any]]:
    """STAC items of an archive collection (``data.archive_source.ArchiveSource``)."""
    if not source.archive.exists:
        return []
    store = source.archive.store
    held = _holdings(store)
    grid = store.grid
    times = store.times()
    items = []
    for (t, shard), bands in sorted(held.items()):
        day = np.datetime64(times[t], "s")
        stamp = str(np.datetime_as_string(day)) + "Z"
        next_day = str(day.astype("datetime64[D]") + np.timedelta64(1, "D"))
        ring, (w, s, e, n) = _footprint(shard, grid.shard_level)
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": f"{source.id}_{stamp[:10].replace('-', '')}_L{grid.shard_level}_{shard}",
                "collection": source.id,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "bbox": [w, s, e, n],
                "properties": {
                    "datetime": stamp,
                    "eostation:collection": source.id,
                    "eostation:bands": sorted(bands),
                    "healpix:level": grid.shard_level,
                    "healpix:cell": shard,
                    "eostation:load": {
                        "id": source.id,
                        "spatial_extent": {"west": w, "south": s, "east": e, "north": n},
                        "temporal_extent": [stamp[:10], next_day],
                        "bands": sorted(bands),
                    },
                },
                "links": [],
                "assets": {},
            }
        )
    return items


class ArchiveIndexer:
    """Mirrors the archive collections into the items index; cheap when nothing changed."""

    def __init__(self, index: ItemIndex, sources: Iterable[Any]) -> None:
        self.index = index
        self.sources = list(sources)

    def sync(self) -> int:
        """Re-index every archive whose stored shards changed; returns the items written."""
        written = 0
        for source in self.sources:
            try:
                held = _holdings(source.archive.store) if source.archive.exists else {}
                state = hashlib.sha1(repr(sorted(held.items())).encode()).hexdigest()
                if state == self.index.state(source.id):
                    continue
                items = archive_items(source)
                written += self.index.replace(source.id, items, state)
                log.info("indexed %d items of archive collection %s", len(items), source.id)
            except Exception:  # one broken archive must not stop the search of the others
                log.exception("indexing archive collection %s failed", source.id)
        return written

"""The manifest: which dates, bands and shards an archive holds, written last by an ingest.

An ingest never overwrites a shard that readers may use. Every date it writes gets a new
row of the band arrays; a shard that already held data for that date is copied into the
new row and merged there. The manifest (``eostation-archive.json``) maps each
``(band, date, shard)`` to the row holding it, and is replaced only after every chunk
and the consolidated Zarr metadata are written. A reader reads the manifest first, then
the metadata, and only the shards it names; so it sees the previous ingest or the new
one whole, and an ingest that fails midway leaves the previous state as it was (its
unreferenced rows are garbage). The manifest also holds the inventory (bytes per band),
so describing or querying an archive never lists the bucket.

Archives written before the manifest existed are read from their listing (row = date).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import zarr
from numpy.typing import NDArray

from .storage import ArchiveLocation

__all__ = ["MANIFEST", "ArchiveState", "ArchiveWriteError", "legacy_state"]

MANIFEST: Final = "eostation-archive.json"
STATE_VERSION: Final = 2


class ArchiveWriteError(RuntimeError):
    """An ingest failed before it was published; the archive keeps its previous state."""


@dataclass
class ArchiveState:
    """Dates, bands, the row of each ``(band, date, shard)`` and bytes per band."""

    generation: int = 0
    dates: list[int] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    #: band -> date (seconds since 1970) -> shard id -> row of the band array
    layers: dict[str, dict[int, dict[int, int]]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def times(self) -> NDArray[np.datetime64]:
        """The dates, sorted."""
        return np.asarray(sorted(self.dates), dtype=np.int64).astype("datetime64[s]")

    def row(self, band: str, seconds: int, shard: int) -> int | None:
        """The row holding ``shard`` of ``band`` on a date, or None when nothing is stored."""
        return self.layers.get(band, {}).get(seconds, {}).get(shard)

    def put(self, band: str, seconds: int, shard: int, row: int) -> None:
        """Record that ``row`` now holds ``shard`` of ``band`` on a date."""
        self.layers.setdefault(band, {}).setdefault(seconds, {})[shard] = row

    def shards(self, band: str) -> dict[int, list[int]]:
        """Stored shard ids of a band per date index (position in :meth:`times`)."""
        order = {s: i for i, s in enumerate(sorted(self.dates))}
        per_date = self.layers.get(band, {})
        return {order[s]: sorted(ids) for s, ids in per_date.items() if ids and s in order}

    def copy(self) -> ArchiveState:
        """An independent copy to stage an ingest in."""
        return copy.deepcopy(self)

    def to_json(self) -> bytes:
        """The manifest's bytes."""
        doc: dict[str, Any] = {
            "eostation:archive": STATE_VERSION,
            "generation": self.generation,
            "dates": sorted(self.dates),
            "bands": self.bands,
            "bytes": self.sizes,
            "layers": {
                band: {str(s): {str(k): r for k, r in rows.items()} for s, rows in per.items()}
                for band, per in self.layers.items()
            },
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ArchiveState:
        """The state a manifest describes."""
        doc = json.loads(data)
        layers = {
            band: {int(s): {int(k): int(r) for k, r in rows.items()} for s, rows in per.items()}
            for band, per in doc["layers"].items()
        }
        return cls(
            int(doc["generation"]),
            [int(s) for s in doc["dates"]],
            list(doc["bands"]),
            layers,
            {k: int(v) for k, v in doc.get("bytes", {}).items()},
        )


def legacy_state(group: zarr.Group, location: ArchiveLocation) -> ArchiveState:
    """The state of an archive without a manifest, from its listing (row = date index)."""
    time = group["time"]
    assert isinstance(time, zarr.Array)
    seconds = [int(s) for s in np.asarray(time[:], dtype=np.int64)]
    state = ArchiveState(dates=sorted(set(seconds)), bands=list(group.attrs.get("bands", [])))  # type: ignore[arg-type]
    for band in state.bands:
        for row_name in location.listdir(f"bands/{band}/c"):
            row = int(row_name)
            for shard in location.listdir(f"bands/{band}/c/{row_name}"):
                state.put(band, seconds[row], int(shard), row)
        state.sizes[band] = location.size(f"bands/{band}")
    return state

"""Quicklooks: a PNG of a collection for a box and a date, rendered by the engine, cached.

The dashboard's collections page asks for one when the user draws a box. The image is
what ``POST /result`` would return for ``load_collection`` (about ten days from the date,
the first valid observation per pixel) → ``save_result(PNG)``, so it shows exactly what
the engine reads. It is written to ``data_dir/quicklooks`` under a hash of the request,
and a repeated request is answered from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from eostation.errors import RequestInvalid
from eostation.jobs.sync import SyncService

__all__ = ["MAX_SIDE_DEGREES", "Quicklook", "QuicklookService"]

#: Largest box side: beyond it a 10 m collection needs more pixels than a quick look.
MAX_SIDE_DEGREES: Final = 0.5
_WINDOW_DAYS: Final = 10


@dataclass(frozen=True)
class Quicklook:
    """What to draw: a collection, a ``west,south,east,north`` box, a day and 1 or 3 bands."""

    collection: str
    bbox: tuple[float, float, float, float]
    day: date
    bands: tuple[str, ...]

    @classmethod
    def parse(cls, collection: str, bbox: str, day: str, bands: str) -> Quicklook:
        """Check the query parameters; ``RequestInvalid`` names the one that is wrong."""
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError:
            raise RequestInvalid(reason="'bbox' must be west,south,east,north in degrees") from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise RequestInvalid(
                reason="'bbox' must have west < east and south < north, in degrees"
            )
        if east - west > MAX_SIDE_DEGREES or north - south > MAX_SIDE_DEGREES:
            raise RequestInvalid(
                reason=f"a quicklook box is at most {MAX_SIDE_DEGREES}° on each side; draw a smaller one"
            )
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise RequestInvalid(reason="'date' must be a day as YYYY-MM-DD") from None
        names = tuple(b for b in bands.split(",") if b)
        if len(names) not in (1, 3):
            raise RequestInvalid(reason="'bands' takes one band (grey) or three (RGB)")
        return cls(collection, (west, south, east, north), parsed, names)

    def graph(self) -> dict[str, Any]:
        """The process graph that renders it."""
        west, south, east, north = self.bbox
        end = self.day + timedelta(days=_WINDOW_DAYS)
        first = {"process_id": "first", "arguments": {"data": {"from_parameter": "data"}}}
        return {
            "load": {
                "process_id": "load_collection",
                "arguments": {
                    "id": self.collection,
                    "spatial_extent": {"west": west, "south": south, "east": east, "north": north},
                    "temporal_extent": [self.day.isoformat(), end.isoformat()],
                    "bands": list(self.bands),
                },
            },
            "first": {
                "process_id": "reduce_dimension",
                "arguments": {
                    "data": {"from_node": "load"},
                    "dimension": "t",
                    "reducer": {"process_graph": {"f": {**first, "result": True}}},
                },
            },
            "save": {
                "process_id": "save_result",
                "arguments": {
                    "data": {"from_node": "first"},
                    "format": "PNG",
                    "options": {"percent_clip": 2},
                },
                "result": True,
            },
        }

    def key(self) -> str:
        """A file name for the cache, from everything that changes the image."""
        text = json.dumps(self.graph(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32] + ".png"


class QuicklookService:
    """Renders quicklooks through :class:`SyncService` and keeps them in ``cache_dir``."""

    def __init__(self, sync: Callable[[], SyncService], cache_dir: Path) -> None:
        self.sync = sync
        self.cache_dir = cache_dir

    def render(
        self, look: Quicklook, *, user_id: str, request_id: str, cancelled: Callable[[], bool]
    ) -> Path:
        """The PNG file of ``look``: from the cache, else rendered now and cached."""
        path = self.cache_dir / look.key()
        if path.is_file():
            return path
        result = self.sync().process(
            {"process": {"process_graph": look.graph()}},
            user_id=user_id,
            request_id=request_id,
            cancelled=cancelled,
        )
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".{look.key()}.{os.getpid()}.tmp"
            shutil.copyfile(result.path, tmp)
            os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
        finally:
            result.discard()
        return path

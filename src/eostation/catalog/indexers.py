"""Keeping the items index in step with what it mirrors: local files and job results.

- :class:`FilesIndexer`: one item per granule (a file, or one date of a multi-date
  file) of every ``files`` collection. It runs in a background thread at start and
  every ``interval`` seconds; a collection is re-indexed only when its files changed
  (paths, sizes, modification times), so the server starts at once and a large
  folder never blocks it. Progress goes to the log.
- :class:`ResultsIndexer`: one item per result file of each finished batch job, in the
  owner's private ``results-<user>`` collection, synced when that user searches.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box, mapping

from .index import ItemIndex

__all__ = ["FilesIndexer", "ResultsIndexer", "granule_item", "job_items"]

log = logging.getLogger("eostation.catalog")


def _iso(t: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "s"))) + "Z"


def granule_item(collection_id: str, granule: Any, item_id: str) -> dict[str, Any]:
    """The STAC item of one local-file granule; its asset is the file itself."""
    w, s, e, n = granule.bbox4326
    gb = granule.geobox
    a = gb.affine
    asset: dict[str, Any] = {
        "href": f"/stac/v1/files/{collection_id}/{item_id}",
        "type": _media_type(granule.path),
        "roles": ["data"],
        "title": granule.path.name,
        "proj:shape": [int(gb.shape[0]), int(gb.shape[1])],
        "proj:transform": [a.a, a.b, a.c, a.d, a.e, a.f],
    }
    if gb.crs is not None and gb.crs.epsg is not None:
        asset["proj:epsg"] = int(gb.crs.epsg)
    if granule.nodata is not None:
        asset["raster:bands"] = [{"nodata": float(granule.nodata)}]
    footprint = box(w, s, e, n)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": collection_id,
        "geometry": _lists(mapping(footprint)),
        "bbox": [w, s, e, n],
        "properties": {"datetime": _iso(granule.time), "eostation:collection": collection_id},
        "links": [],
        "assets": {"data": asset},
    }


def _media_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        return "image/tiff; application=geotiff"
    if suffix in (".nc", ".nc4", ".h5"):
        return "application/x-netcdf"
    return "application/octet-stream"


def _lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_lists(v) for v in obj]
    return obj


def _granule_id(granule: Any) -> str:
    return str(granule.path.stem) + (f"-{granule.index}" if granule.index is not None else "")


def _signature(paths: Iterable[Path]) -> str:
    digest = hashlib.sha1()
    for p in sorted(paths):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        digest.update(f"{p}\n{st.st_size}\n{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class FilesIndexer:
    """Indexes ``files`` collections in the background; serves their files by item."""

    def __init__(self, index: ItemIndex, collections: list[Any], interval: float = 60.0) -> None:
        self.index = index
        self.collections = collections
        self.interval = interval
        self._paths: dict[tuple[str, str], Path] = {}
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Index now in a daemon thread, then every ``interval`` seconds."""
        if not self.collections or self._thread is not None:
            self._done.set()
            return
        self._thread = threading.Thread(target=self._run, name="files-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the first pass has finished."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sync()
            self._done.set()
            self._stop.wait(self.interval)

    def sync(self) -> int:
        """Re-index every collection whose files changed; returns the items written."""
        from eostation.data.files.granules import discover

        written = 0
        for source in self.collections:
            cid = source.id
            try:
                granules = discover(source.config)
                paths = {g.path for g in granules}
                state = _signature(paths)
                if state == self.index.state(cid):
                    self._remember(cid, granules)
                    continue
                started = time.monotonic()
                items = [granule_item(cid, g, _granule_id(g)) for g in granules]
                written += self.index.replace(cid, items, state)
                self._remember(cid, granules)
                log.info(
                    "indexed %d items of files collection %s in %.1f s",
                    len(items),
                    cid,
                    time.monotonic() - started,
                )
            except Exception:  # one bad folder must not stop the others
                log.exception("indexing files collection %s failed", cid)
        return written

    def _remember(self, cid: str, granules: Iterable[Any]) -> None:
        for g in granules:
            self._paths[(cid, _granule_id(g))] = g.path

    def path(self, collection_id: str, item_id: str) -> Path | None:
        """The file behind an item (None when it is not an indexed granule)."""
        return self._paths.get((collection_id, item_id))


def job_items(
    job: Any, collection_id: str, href: Callable[[str, str], str]
) -> list[dict[str, Any]]:
    """One item per result file of a finished job (``href(job_id, name)`` signs links).

    Built from the job's stored result assets as they are today. Adapter: when
    ``eostation.jobs.results.result_items`` (per-date items, branch wip/fid-notebook)
    lands, return its items here, relabelled with ``collection_id``.
    """
    out = []
    finished = job.finished.isoformat().replace("+00:00", "Z") if job.finished else None
    for name, asset in (job.results or {}).items():
        bbox = asset.get("bbox")
        footprint = box(*bbox) if isinstance(bbox, list) and len(bbox) == 4 else None
        when = asset.get("datetime") or finished
        props: dict[str, Any] = {
            "datetime": when,
            "title": job.title or f"Results of batch job {job.id}",
            "openeo:job_id": job.id,
        }
        if finished:
            props["published"] = props["updated"] = finished
        out.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": f"{job.id}-{name}",
                "collection": collection_id,
                "geometry": _lists(mapping(footprint)) if footprint is not None else None,
                **({"bbox": list(bbox)} if footprint is not None else {}),
                "properties": props,
                "links": [],
                "assets": {name: {**asset, "href": href(job.id, name)}},
            }
        )
    return out


class ResultsIndexer:
    """Mirrors each user's finished jobs into their private results collection."""

    def __init__(
        self,
        index: ItemIndex,
        finished_jobs: Callable[[str], list[Any]],
        href: Callable[[str, str], str],
        collection_id: Callable[[str], str],
        link_ttl_seconds: int,
    ) -> None:
        self.index = index
        self.finished_jobs = finished_jobs
        self.href = href
        self.collection_id = collection_id
        # Links are re-signed when half their lifetime has passed.
        self.refresh_seconds = max(60, link_ttl_seconds // 2)

    def sync(self, user_id: str) -> None:
        """Bring the user's results collection up to date (cheap when nothing changed)."""
        cid = self.collection_id(user_id)
        jobs = self.finished_jobs(user_id)
        epoch = int(time.time() // self.refresh_seconds)
        state = hashlib.sha1(
            "\n".join(f"{j.id}:{j.finished}" for j in sorted(jobs, key=lambda j: j.id)).encode()
            + f"\n{epoch}".encode()
        ).hexdigest()
        if state == self.index.state(cid):
            return
        items = [i for job in jobs for i in job_items(job, cid, self.href)]
        self.index.replace(cid, items, state, owner=user_id)

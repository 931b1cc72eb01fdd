"""Tiled fetch end to end: a 1°×1° AOI as batch jobs on a live eostation, into an archive.

Starts ``eostation serve`` on a free loopback port with a temporary data dir (2 runner
processes, in-process Dask threads), fetches SENTINEL2_L2A B04/B03/B02 over
11–12°E, 45–46°N (two 0.5°×1° tiles) with the official client through ``TileFetcher``
(at most 2 jobs in flight), then reports wall time, jobs run, the most jobs in flight
(seen by the fetcher and, independently, by polling ``GET /jobs`` on the server), source
pixels ingested, Mpx/s end to end, archive size, bytes per stored value, and the finite
fraction of a 0.1° query across the tile seam. The server is shut down at the end.

Run: ``.venv/bin/python benchmarks/bench_fetch.py [--time START/END]`` (default: three
dates, native 10 m; about 7.5 min on 2 cores). Prints a JSON report.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import xarray as xr
from openeo.rest.connection import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer

from eostation.archive import Archive
from eostation.archive.archive import IngestReport
from eostation.archive.fetch import TileFetcher, tiles_for

AOI = (11.0, 45.0, 12.0, 46.0)
SPOT = (11.45, 45.45, 11.55, 45.55)  # 0.1° across the seam of the two tiles at 45.5°N
BANDS = ["B04", "B03", "B02"]
COLLECTION = "SENTINEL2_L2A"


class CountingArchive(Archive):
    """An archive that sums what it ingests (source pixels and seconds)."""

    source_pixels = 0
    seconds = 0.0

    def ingest(self, cube: Any, **kwargs: Any) -> IngestReport:
        t0 = time.perf_counter()
        report = super().ingest(cube, **kwargs)
        self.seconds += time.perf_counter() - t0
        self.source_pixels += report.source_pixels
        return report


class JobWatcher(threading.Thread):
    """Polls ``GET /jobs`` and records the most jobs queued/running at once."""

    def __init__(self, url: str, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.max_inflight = self.max_running = 0
        self.stop = threading.Event()

    def statuses(self, http: httpx.Client) -> Counter[str]:
        jobs = http.get(self.url + "/openeo/1.2/jobs", timeout=10).json()["jobs"]
        return Counter(str(j["status"]) for j in jobs)

    def run(self) -> None:
        with httpx.Client() as http:
            while not self.stop.is_set():
                try:
                    c = self.statuses(http)
                    self.max_running = max(self.max_running, c["running"])
                    self.max_inflight = max(self.max_inflight, c["running"] + c["queued"])
                except httpx.HTTPError:
                    pass  # a slow answer while the runners are busy: ask again
                self.stop.wait(self.every)


def stored_values(archive: Archive) -> int:
    """Finite values the archive holds in the AOI, over every band and date."""
    cells = archive.query(AOI)
    return sum(int(np.isfinite(cells[b].values).sum()) for b in BANDS)


def spot_check(archive: Archive, temporal: tuple[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    ds: xr.Dataset = Archive(archive.path).query(SPOT, temporal, shape=(500, 500))
    seconds = time.perf_counter() - t0
    finite = {b: float(np.isfinite(ds[b].values).mean()) for b in BANDS}
    return {"bbox": SPOT, "dates": ds.sizes["time"], "finite_fraction": finite, "seconds": seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time", default="2023-06-01/2023-06-16", help="START/END, end exclusive")
    p.add_argument("--max-inflight", type=int, default=2)
    args = p.parse_args()
    start, end = args.time.split("/")
    temporal = (start, end)

    tmp = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    env = {"EOSTATION_RUNNERS": "2", "EOSTATION_DASK_WORKERS": "0"}
    server = LiveServer(tmp / "data", env=env).start()
    watcher = JobWatcher(server.url)
    try:
        archive = CountingArchive(tmp / "archive.zarr")
        fetcher = TileFetcher(
            archive,
            connect(server.url),
            COLLECTION,
            AOI,
            temporal,
            BANDS,
            max_inflight=args.max_inflight,
            poll_seconds=0.5,
            progress=lambda done, total, msg: print(
                f"  {time.strftime('%X')} {done}/{total} {msg}", file=sys.stderr
            ),
        )
        watcher.start()
        report = fetcher.run()
        watcher.stop.set()
        watcher.join()
        with httpx.Client() as http:
            jobs = watcher.statuses(http)
        info = archive.info()
        values = stored_values(archive)
        out = {
            "aoi": AOI,
            "tiles": [t.key for t in tiles_for(AOI)],
            "time": temporal,
            "dates": info["dates"],
            "bands": BANDS,
            "wall_s": round(report.seconds, 1),
            "tiles_done": report.done,
            "tiles_failed": report.failed,
            "retries": report.retries,
            "jobs_run": sum(jobs.values()),
            "job_statuses": dict(jobs),
            "max_inflight_fetcher": report.peak_inflight,
            "max_inflight_server": watcher.max_inflight,
            "max_running_server": watcher.max_running,
            "source_mpx_ingested": round(archive.source_pixels / 1e6, 1),
            "ingest_s": round(archive.seconds, 1),
            "mpx_per_s_end_to_end": round(archive.source_pixels / 1e6 / report.seconds, 2),
            "archive_bytes": info["bytes"],
            "stored_values": values,
            "bytes_per_stored_value": round(info["bytes"] / values, 3),
            "spot_check": spot_check(archive, temporal),
        }
        print(json.dumps(out, indent=1))
    finally:
        watcher.stop.set()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

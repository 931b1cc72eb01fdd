"""The archive on an S3 emulator against the same archive on local disk, same run.

moto's S3 server runs as a separate process on loopback (an emulator, not AWS: its
latency is a Python web server's, so the ratios show request overhead, not a cloud's).
Ingest: one date, two float32 bands over 0.6° × 0.6° at 0.002°; query: a 0.2° box
back on a 0.001° grid by a fresh reader (manifest, metadata, data).

Run: ``python benchmarks/bench_archive_s3.py`` (needs the ``dev`` extra: moto, s3fs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import numpy as np
from tests.conftest import free_port
from tests.unit.archive.conftest import make_cube

from eostation.archive import Archive, HealpixGrid

GRID = HealpixGrid(level=16, chunk_level=10, shard_level=7)
BBOX = (10.0, 45.0, 10.6, 45.6)
QUERY = (10.2, 45.2, 10.4, 45.4)


def field(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    return 1000.0 + 50 * np.sin(40 * x) * np.cos(55 * y) + k


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    opts = {"endpoint_url": endpoint, "key": "k", "secret": "s",
            "client_kwargs": {"region_name": "us-east-1"}}  # fmt: skip
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k",
                      aws_secret_access_key="s", region_name="us-east-1")  # fmt: skip
    for _ in range(100):
        try:
            s3.list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    tmp = Path(tempfile.mkdtemp())
    cube = make_cube(BBOX, 0.002, ["2023-06-01"], field)
    rows = []
    try:
        for rep in range(3):
            bucket = f"b-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(Bucket=bucket)
            targets = {"local": str(tmp / f"a{rep}.zarr"), "s3": f"s3://{bucket}/a.zarr"}
            for kind, url in targets.items():
                ingest = timed(lambda u=url: Archive(u, GRID, options=opts).ingest(cube))
                query = timed(lambda u=url: Archive(u, options=opts).query(QUERY, None, 0.001))
                rows.append((kind, rep, ingest, query))
    finally:
        server.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
    best = {k: (min(r[2] for r in rows if r[0] == k), min(r[3] for r in rows if r[0] == k))
            for k in ("local", "s3")}  # fmt: skip
    print(f"{'store':6} {'ingest s':>9} {'query s':>9}  (best of 3; cube {cube.shape})")
    for kind, (ingest, query) in best.items():
        print(f"{kind:6} {ingest:9.3f} {query:9.3f}")
    li, lq = best["local"]
    si, sq = best["s3"]
    print(f"s3/local: ingest {si / li:.1f}x, query {sq / lq:.1f}x")


if __name__ == "__main__":
    main()

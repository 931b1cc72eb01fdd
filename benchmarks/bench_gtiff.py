"""GeoTIFF output of a large layer: the cost of its overviews, two source trees in one run.

A ``(bands, size, size)`` float32 layer, computed block by block from a cheap dask
expression (a smooth field with a no-data disc, so compression behaves as on imagery),
is written by the GTiff writer with ``overviews=AUTO`` and with ``NONE`` (the floor: the
same file without overviews), each in a fresh process, alternating between the source
trees given. Reported per run: wall and CPU seconds of the write, peak RSS of the
process, and a digest of the full-resolution pixels, which must be the same for every
tree. Larger than 64 MB the writer streams the layer through a scratch file; this
benchmark measures that path.

    python benchmarks/bench_gtiff.py --out /tmp/gtiff --tree main=/work/main/src \\
        --tree branch=src --size 4096
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _cube(size: int, bands: int, chunk: int) -> Any:
    import dask.array as da
    import numpy as np
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    geobox = GeoBox.from_bbox(
        (500000, 4000000, 500000 + 10 * size, 4000000 + 10 * size), "epsg:32633", resolution=10
    )

    def block(b: Any, y: Any, x: Any) -> Any:
        field = 1000 + 300 * np.sin(x / 97.0 + b) * np.cos(y / 61.0) + (x * y % 17)
        out = field.astype("float32")
        out[(x - size / 2) ** 2 + (y - size / 3) ** 2 < (size / 8) ** 2] = np.nan
        return out

    b = da.arange(bands, chunks=1, dtype="float32")[:, None, None]
    y = da.arange(size, chunks=chunk, dtype="float32")[None, :, None]
    x = da.arange(size, chunks=chunk, dtype="float32")[None, None, :]
    data = da.map_blocks(block, b, y, x, dtype="float32")
    coords = {"bands": [f"B{i}" for i in range(bands)], **xr_coords(geobox)}
    return xr.DataArray(data, dims=("bands", "y", "x"), coords=coords)


def _child(args: argparse.Namespace) -> None:
    """One write in this process; prints one JSON line."""
    import numpy as np
    import rasterio

    from eostation.formats import default_formats

    cube = _cube(args.size, args.bands, args.chunk)
    writer = default_formats().get_writer("GTiff")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    [written] = writer.write(cube, out, {"overviews": args.overviews})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    digest = hashlib.sha256()
    with rasterio.open(written.path) as ds:
        levels = ds.overviews(1)
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        for _, window in ds.block_windows(1):
            digest.update(np.ascontiguousarray(ds.read(window=window)).tobytes())
    result = {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "file_mb": round(written.path.stat().st_size / 2**20, 1),
        "overview_factors": levels,
        "layout": layout,
        "full_resolution_sha256": digest.hexdigest()[:16],
    }
    written.path.unlink()
    print(json.dumps(result))


def main() -> None:
    """Run every tree × overviews setting ``--repeat`` times, alternating; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="scratch directory for the files")
    parser.add_argument("--tree", action="append", default=[], help="NAME=SRC_DIR (repeatable)")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--bands", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--overviews", default="AUTO", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    trees = [t.split("=", 1) for t in args.tree] or [
        ["this", str(Path(__file__).parents[1] / "src")]
    ]
    print(
        f"layer {args.bands} × {args.size}² float32 in {args.chunk}² chunks; load {os.getloadavg()}"
    )
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.repeat):
        for name, src in trees:
            for overviews in ("AUTO", "NONE"):
                cmd = [sys.executable, __file__, "--child", "--out", str(Path(args.out) / name)]
                cmd += ["--size", str(args.size), "--bands", str(args.bands)]
                cmd += ["--chunk", str(args.chunk), "--overviews", overviews]
                env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
                done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                rows.setdefault((name, overviews), []).append(result)
                print(
                    name,
                    overviews,
                    json.dumps(result),
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    print("\n| tree | overviews | wall s (best) | CPU s (best) | peak RSS MB (max) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for (name, overviews), runs in rows.items():
        wall = min(r["wall_s"] for r in runs)
        cpu = min(r["cpu_s"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        print(f"| {name} | {overviews} | {wall:.2f} | {cpu:.2f} | {rss} |")
    digests = {r["full_resolution_sha256"] for runs in rows.values() for r in runs}
    print(f"full-resolution pixels identical across trees and settings: {len(digests) == 1}")


if __name__ == "__main__":
    main()

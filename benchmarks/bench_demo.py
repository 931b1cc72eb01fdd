"""Demo-world throughput and a bounded-memory 10k × 10k GTiff export.

Run: ``.venv/bin/python benchmarks/bench_demo.py [--quick]``. Prints a small table:

1. SENTINEL2_L2A generation, 4 bands × 2048 × 2048 × 10 dates (a time window holding
   exactly 10 acquisitions, so no date is computed and dropped), in pixels/s in total
   and per core (dask threads), against a baseline measured in the same run: numpy
   drawing the same number of uniform float32 random values (the cheapest way to
   "make" that many pixels), reported as a ratio.
2. One band, one date, 10,000 × 10,000 pixels streamed to GeoTIFF by the formats GTiff
   writer in a fresh process: wall time and the peak RSS increase (psutil, sampled every
   20 ms) next to the size of the full float32 array (381 MiB) — the ratio shows the
   export is streamed.

``--quick`` shrinks both (1024² / 4,000²) for a smoke run. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eostation.data.base import LoadRequest
from eostation.data.demo.sentinel2 import Sentinel2L2A
from eostation.formats.registry import default_formats

# A UTM 31N origin near Mol, Belgium (10 m pixels); the demo grid snaps to 10 m anyway.
X0, Y0, EPSG = 640_000.0, 5_640_000.0, 32631


def _request(side: int, bands: list[str], temporal: tuple[str, str]) -> LoadRequest:
    extent = side * 10.0
    bbox = (X0, Y0, X0 + extent, Y0 + extent)
    return LoadRequest(bbox=bbox, crs=EPSG, temporal=temporal, bands=bands)


def generation(side: int, dates: int) -> tuple[float, float, tuple[int, ...]]:
    """Seconds to compute the demo cube and to draw as many random floats with numpy."""
    source = Sentinel2L2A()
    # The window ends the day after the ``dates``-th acquisition (the demo follows the real
    # orbits: 2-5 days apart), so it holds exactly ``dates``.
    probe = source.load(_request(side, ["B02"], ("2023-05-01", "2023-09-01")))
    last = probe.t.values[dates - 1].astype("datetime64[D]")
    window = ("2023-05-01", str(last + 1))
    cube = source.load(_request(side, ["B02", "B03", "B04", "B08"], window))
    assert cube.sizes["t"] == dates, cube.sizes
    cube = cube.isel(y=slice(0, side), x=slice(0, side))
    t0 = time.perf_counter()
    cube.data.compute()
    demo = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    rng.random(cube.shape, dtype=np.float32)
    base = time.perf_counter() - t0
    return demo, base, tuple(cube.shape)


class _PeakRss:
    """Samples the process RSS in a thread; ``peak - start`` is the increase."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def export(side: int) -> tuple[float, int, int, tuple[int, ...]]:
    """Seconds and peak RSS increase to write one band × date × side² to GTiff."""
    dask.config.set(scheduler="threads")
    source = Sentinel2L2A()
    # A window of one day on the first June acquisition: a single-date request, so each
    # chunk renders that date only (slicing t would still compute all dates of a chunk).
    first = source.load(_request(side, ["B04"], ("2023-06-01", "2023-06-30"))).t.values[0]
    day = np.datetime64(first, "D")
    cube = source.load(_request(side, ["B04"], (str(day), str(day + 1))))
    assert cube.sizes["t"] == 1, cube.sizes
    cube = cube.isel(y=slice(0, side), x=slice(0, side))
    writer = default_formats().get_writer("GTiff")
    with tempfile.TemporaryDirectory() as tmp, _PeakRss() as rss:
        t0 = time.perf_counter()
        files = writer.write(cube, Path(tmp), {})
        seconds = time.perf_counter() - t0
        assert files, "the writer wrote nothing"
    return seconds, rss.peak - rss.start, int(np.prod(cube.shape)) * 4, tuple(cube.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    args = parser.parse_args()
    gen_side, dates, exp_side = (1024, 10, 4000) if args.quick else (2048, 10, 10_000)
    dask.config.set(scheduler="threads")

    # The export runs in a fresh process: memory freed by the generation step stays in
    # the allocator and would hide the export's own peak.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        seconds, peak, full, exp_shape = pool.apply(export, (exp_side,))
    demo, base, shape = generation(gen_side, dates)
    pixels = float(np.prod(shape))
    cores = int(dask.config.get("num_workers", None) or multiprocessing.cpu_count())
    mb = 1024 * 1024
    rows = [
        ("demo S2 generation", f"{shape}", f"{demo:.2f} s", f"{pixels / demo / 1e6:.1f} Mpx/s"),
        ("  per core", f"{cores} threads", "", f"{pixels / demo / 1e6 / cores:.1f} Mpx/s"),
        (
            "numpy random (baseline)",
            f"{shape}",
            f"{base:.2f} s",
            f"{pixels / base / 1e6:.1f} Mpx/s",
        ),
        ("ratio demo / baseline", "", "", f"{base / demo:.3f}× baseline speed"),
        (
            "GTiff export",
            f"{exp_shape}",
            f"{seconds:.1f} s",
            f"{np.prod(exp_shape) / seconds / 1e6:.1f} Mpx/s",
        ),
        (
            "peak RSS increase",
            "",
            f"{peak / mb:.0f} MiB",
            f"{peak / full:.2f}× of {full / mb:.0f} MiB array",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()

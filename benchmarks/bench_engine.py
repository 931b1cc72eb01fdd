"""Process-engine benchmark: four canonical workloads on three data layouts, eostation vs
hand-written numpy.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--size 1024 | --small] [--only W1,W3]
[--layouts zarr-t1,cog] [--repeat 3]``. Not part of the test suite.

The input, an S2-like cube of 2048 × 2048 px × 60 dates (``--size N``: N² × 60;
``--small``: 512² × 12), is generated once into ``benchmarks/_data/`` in three layouts
(Zarr with ``t=1`` chunks, one COG per band and date, Zarr with all dates in one chunk;
see :mod:`engine_data`), each registered as the files collection ``BENCH_S2`` by its own
``collections.toml``, as a user would. Workloads:

- W1: mean over ``t`` of B02, B03, B04, B08 → GTiff;
- W2: NDVI, masked where SCL ∈ {3, 8, 9, 10}, median over ``t`` → GTiff;
- W3: ``aggregate_spatial`` of 1,000 field polygons, mean per date and band → JSON;
- W4: NDVI ``aggregate_temporal_period`` month mean → netCDF.

For each, (1) eostation runs the process graph that the official ``openeo`` client
builds through ``jobs.local.run_local`` (what ``eostation run`` does, imports excluded:
collections.toml, file scan, evaluation, writing); (2) the hand-written baseline
(:mod:`engine_baseline`) streams numpy over 512² tiles × all dates in a 2-thread pool and
writes the same format. Before every run the input files are dropped from the page
cache (``posix_fadvise(DONTNEED)``), and each side runs in a fresh process: wall time of
the work and peak RSS of that process (``VmHWM``), also shown as the increase over the RSS
after imports. ``--repeat N`` alternates the sides N times; every run is kept, and the
table shows the median and the best (the README table uses the median). The outputs are
compared.

A run is one *piece* (its ``--layouts`` × ``--only``): it writes
``benchmarks/results/engine-<N>px_<D>d-<layouts>-<only>.json`` with every run and the
load average at its start and end, then merges all pieces of that size into
``benchmarks/results/engine.md`` (:mod:`engine_results`), so a full run can be measured
in pieces that each fit one quiet window; ``--merge`` only merges. Per quiet window, e.g.
``bench_engine.py --size 2048 --repeat 3 --layouts zarr-t1``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

from engine_data import (  # noqa: E402
    EPSG,
    LAYOUTS,
    RES,
    X0,
    Y0,
    Size,
    fields_geojson,
    generate,
    input_files,
)  # fmt: skip
from engine_results import load_average, merge, now, piece_path, table, write_piece  # noqa: E402

DATA = HERE / "_data"
RESULTS = HERE / "results"
FULL, SMALL = Size(2048, 60), Size(512, 12)
WORKLOADS = ("W1", "W2", "W3", "W4")


def graph(workload: str, size: Size) -> dict[str, Any]:
    """The process graph of ``workload`` as the official client sends it."""
    from openeo.rest.datacube import DataCube

    extent = {
        "west": X0, "south": Y0 - size.side * RES, "east": X0 + size.side * RES, "north": Y0,
        "crs": EPSG,
    }  # fmt: skip
    bands = {"W1": ["B02", "B03", "B04", "B08"], "W2": ["B04", "B08", "SCL"]}
    cube = DataCube.load_collection(
        "BENCH_S2",
        connection=None,
        spatial_extent=extent,
        temporal_extent=["2023-01-01", "2024-01-01"],
        bands=bands.get(
            workload, ["B02", "B03", "B04", "B08"] if workload == "W3" else ["B04", "B08"]
        ),
    )
    if workload == "W1":
        out = cube.reduce_dimension("t", reducer="mean").save_result("GTiff")
    elif workload == "W2":
        scl = cube.band("SCL")
        cloudy = (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10)
        ndvi = cube.ndvi(nir="B08", red="B04")
        out = ndvi.mask(cloudy).reduce_dimension("t", reducer="median").save_result("GTiff")
    elif workload == "W3":
        fields = fields_geojson(size)
        out = cube.aggregate_spatial(geometries=fields, reducer="mean").save_result("JSON")
    else:
        ndvi = cube.ndvi(nir="B08", red="B04")
        out = ndvi.aggregate_temporal_period("month", reducer="mean").save_result("netCDF")
    return {"process_graph": out.flat_graph()}


# -- one side, in a fresh process ------------------------------------------------------


def _peak_rss() -> int:
    """This process's peak RSS (``VmHWM``; unlike ``ru_maxrss`` it is not inherited from
    the parent over fork + exec), plus that of any waited-for children."""
    status = Path("/proc/self/status").read_text()
    kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (kib + children) * 1024


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _cpu() -> float:
    """CPU seconds (user + sys) of this process and its threads so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_engine() -> None:
    """Import eostation's engine, its files source and the writers of the workloads, and
    the dask parts the local run uses, so that the timed work excludes imports on both
    sides (the baseline's happen when its module loads). ``eostation run``'s start-up,
    imports included, is what ``bench_cli.py`` measures."""
    import importlib
    import pkgutil

    for name in ("dask.array", "dask.threaded", "eostation.data.registry"):
        importlib.import_module(name)
    for package in ("eostation.engine", "eostation.data.files", "eostation.formats"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if package != "eostation.formats" or info.name.rsplit(".", 1)[1] in _WRITERS:
                importlib.import_module(info.name)


_WRITERS = ("registry", "gtiff", "jsonfile", "netcdf")


def worker(side: str, workload: str, folder: Path, out: Path, size: Size) -> dict[str, float]:
    """Run one side of one workload; wall and CPU seconds, RSS after imports, peak RSS."""
    out.mkdir(parents=True, exist_ok=True)
    if side == "eostation":
        from eostation.config import Settings
        from eostation.jobs.local import run_local

        import_engine()
        process = graph(workload, size)
        settings = Settings(data_dir=folder)
        start_rss = _rss()
        c0, t0 = _cpu(), time.perf_counter()
        run_local(process, out, settings, log=lambda *_: None, progress=lambda _p: None)
    else:
        from engine_baseline import WORKLOADS as BASELINES

        extra = (fields_geojson(size),) if workload == "W3" else ()
        start_rss = _rss()
        c0, t0 = _cpu(), time.perf_counter()
        BASELINES[workload](folder, out, *extra)
    wall = time.perf_counter() - t0
    return {"wall": wall, "cpu": _cpu() - c0, "start": start_rss, "peak": _peak_rss()}


def drop_cache(folder: Path) -> None:
    """Evict the layout's files from the page cache: every run reads from disk."""
    for path in input_files(folder):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run_side(side: str, workload: str, folder: Path, out: Path, size: Size) -> dict[str, float]:
    """``worker`` in a fresh interpreter, cold cache (peak memory is the workload's own)."""
    shutil.rmtree(out, ignore_errors=True)
    drop_cache(folder)
    cmd = [sys.executable, __file__, "--worker", side, workload, str(folder), str(out)]
    cmd += ["--size", str(size.side), "--dates", str(size.dates)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{side} {workload} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- equality of the outputs -----------------------------------------------------------


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> str:
    if a.shape != b.shape:
        return f"shapes {a.shape} ≠ {b.shape}"
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return f"NaN differ at {int((np.isnan(a) != np.isnan(b)).sum())} cells"
    ok = np.isfinite(a)
    err = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-12)
    worst = float(err.max()) if err.size else 0.0
    return f"yes (max rel. {worst:.0e})" if worst <= rtol else f"NO (max rel. {worst:.1e})"


def compare(workload: str, mine: Path, theirs: Path) -> str:
    """Whether eostation's output equals the baseline's, with the largest deviation."""
    if workload in ("W1", "W2"):
        import rasterio

        with rasterio.open(mine / "openEO.tif") as a, rasterio.open(theirs / "openEO.tif") as b:
            if a.crs != b.crs or a.transform != b.transform:
                return "NO (grid differs)"
            return _close(a.read().astype(np.float64), b.read().astype(np.float64), 1e-5)
    if workload == "W3":
        a = json.loads((mine / "openEO.json").read_text())
        b = json.loads((theirs / "openEO.json").read_text())
        if list(a) != list(b):
            return "NO (dates differ)"
        as_array = lambda d: np.array(  # noqa: E731
            [[[np.nan if v is None else v for v in g] for g in d[k]] for k in d], dtype=float
        )
        return _close(as_array(a), as_array(b), 1e-9)
    import xarray as xr

    with xr.open_dataset(mine / "openEO.nc") as a, xr.open_dataset(theirs / "openEO.nc") as b:
        va = next(v for v in a.data_vars.values() if v.ndim == 3)
        vb = next(v for v in b.data_vars.values() if v.ndim == 3)
        if [str(t) for t in a["t"].values] != [str(t) for t in b["t"].values]:
            return "NO (t labels differ)"
        return _close(va.values.astype(np.float64), vb.values.astype(np.float64), 1e-5)


# -- pieces ----------------------------------------------------------------------------


def measure(
    layout: str, workload: str, folder: Path, size: Size, repeat: int, sides: str, outs: Path
) -> dict[str, Any]:
    """Both sides of one workload on one layout, alternating, ``repeat`` times: every
    run, the 1-minute load average before and after, whether the outputs are equal."""
    row: dict[str, Any] = {"layout": layout, "workload": workload}
    row["load_start"] = round(os.getloadavg()[0], 2)
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "eostation": []}
    for _ in range(repeat):
        for side in runs:
            if sides in ("both", side):
                out = outs / f"{layout}-{workload}-{side}"
                got = run_side(side, workload, folder, out, size)
                print(
                    f"{layout} {workload} {side}: {got['wall']:.2f} s, {got['cpu']:.2f} s CPU",
                    flush=True,
                )
                runs[side].append(got)
    row["runs"], row["load_end"] = runs, round(os.getloadavg()[0], 2)
    if sides == "both":
        mine, theirs = (outs / f"{layout}-{workload}-{s}" for s in ("eostation", "baseline"))
        row["equal"] = compare(workload, mine, theirs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=FULL.side, help="side in pixels (60 dates)")
    parser.add_argument("--dates", type=int, default=FULL.dates, help=argparse.SUPPRESS)
    parser.add_argument("--small", action="store_true", help="512² × 12 dates, a quick check")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="e.g. W1,W3")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="e.g. zarr-t1,cog")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side, alternating")
    parser.add_argument("--side", choices=["both", "eostation", "baseline"], default="both")
    parser.add_argument(
        "--merge", action="store_true", help="only merge the pieces of --size into engine.md"
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="input folder (read-only once made)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="pieces, engine.md, outputs")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SMALL if args.small else Size(args.size, args.dates)
    if args.worker:
        side, workload, folder, out = args.worker
        print(json.dumps(worker(side, workload, Path(folder), Path(out), size)))
        return
    if args.merge:
        print(merge(args.results, size.side, size.dates))
        return
    t0 = time.perf_counter()
    layouts = args.layouts.split(",")
    folders = generate(args.data, size, tuple(layouts))
    os.sync()  # written pages must be clean before they can be dropped from the cache
    print(f"input ready in {time.perf_counter() - t0:.1f} s", flush=True)
    piece: dict[str, Any] = {
        "command": " ".join(["bench_engine.py", *sys.argv[1:]]),
        "started": now(),
        "load_start": load_average(),
        "quiet": bool(os.environ.get("EOSTATION_QUIET_HELD")),
        "rows": [],
    }
    t0 = time.perf_counter()
    # Outputs go next to the results: the input folder may be a shared read-only copy.
    outs = args.results / "out"
    for layout in layouts:
        for workload in args.only.split(","):
            row = measure(layout, workload, folders[layout], size, args.repeat, args.side, outs)
            piece["rows"].append(row)
            if args.side == "both":
                print(table([row]).splitlines()[-1], flush=True)
    piece.update(ended=now(), load_end=load_average())
    print(f"piece done in {time.perf_counter() - t0:.0f} s, load {piece['load_end']}")
    if args.side == "both":
        path = piece_path(args.results, size.side, size.dates, args.layouts, args.only)
        write_piece(path, piece)
        print("\n" + merge(args.results, size.side, size.dates))


if __name__ == "__main__":
    main()

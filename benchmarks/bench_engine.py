"""Process-engine benchmark: four canonical workloads, eostation vs hand-written numpy.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--small] [--only W1,W3] [--repeat 3]``.
Not part of the test suite.

The input, an S2-like cube of 2048 × 2048 px × 60 dates (``--small``: 512² × 12),
is generated once into ``benchmarks/_data/`` (Zarr, chunks of all dates × 512²;
see :mod:`engine_data`). Workloads:

- W1: mean over ``t`` of B02, B03, B04, B08 → GTiff;
- W2: NDVI, masked where SCL ∈ {3, 8, 9, 10}, median over ``t`` → GTiff;
- W3: ``aggregate_spatial`` of 1,000 field polygons, mean per date and band → JSON;
- W4: NDVI ``aggregate_temporal_period`` month mean → netCDF.

For each, (1) eostation runs the process graph that the official ``openeo`` client
builds, through ``jobs.execute.evaluate_lazily`` + ``write_outputs`` (dask threads),
loading the store through a small collection source; (2) the hand-written baseline
(:mod:`engine_baseline`) streams numpy over 512² tiles × all dates on all cores and
writes the same format. Each side runs in a fresh process: wall time of the work
(imports excluded) and peak RSS of that process (``VmHWM``), also shown as the
increase over the RSS after imports. On a shared machine ``--repeat N`` alternates the
sides N times and keeps the best wall time (and the largest peak). The outputs are then compared. The table is
printed and written to ``benchmarks/results/engine.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

from engine_data import EPSG, RES, X0, Y0, Size, fields_geojson, generate  # noqa: E402

DATA = HERE / "_data"
RESULTS = HERE / "results"
FULL, SMALL = Size(2048, 60), Size(512, 12)
WORKLOADS = ("W1", "W2", "W3", "W4")
TITLES = {
    "W1": "mean over t, 4 bands → GTiff",
    "W2": "NDVI, SCL mask, median over t → GTiff",
    "W3": "aggregate_spatial 1,000 fields, mean → JSON",
    "W4": "NDVI month mean → netCDF",
}


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


def worker(side: str, workload: str, store: Path, out: Path, size: Size) -> dict[str, float]:
    """Run one side of one workload; wall seconds, RSS after imports and peak RSS."""
    out.mkdir(parents=True, exist_ok=True)
    if side == "eostation":
        import dask
        from engine_data import ZarrS2

        from eostation.engine.context import no_log
        from eostation.engine.limits import EngineLimits
        from eostation.engine.registry import default_registry
        from eostation.formats.registry import default_formats
        from eostation.jobs.execute import evaluate_lazily, write_outputs

        dask.config.set(scheduler="threads")
        registry, formats = default_registry(), default_formats()
        process = graph(workload, size)
        start_rss = _rss()
        t0 = time.perf_counter()
        source = ZarrS2(store)
        run = evaluate_lazily(
            process,
            registry=registry,
            limits=EngineLimits(),
            collections=type("One", (), {"get": staticmethod(lambda _id: source)})(),
            log=no_log,
            cancelled=lambda: False,
            user_id=None,
        )
        write_outputs(run, out, formats=formats, progress=lambda _p: None, cancelled=lambda: False)
    else:
        from engine_baseline import WORKLOADS as BASELINES

        extra = (fields_geojson(size),) if workload == "W3" else ()
        start_rss = _rss()
        t0 = time.perf_counter()
        BASELINES[workload](store, out, *extra)
    wall = time.perf_counter() - t0
    return {"wall": wall, "start": start_rss, "peak": _peak_rss()}


def run_side(side: str, workload: str, store: Path, out: Path, small: bool) -> dict[str, float]:
    """``worker`` in a fresh interpreter (peak memory is then the workload's own)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--worker", side, workload, str(store), str(out)]
    cmd += ["--small"] if small else []
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


# -- the table -------------------------------------------------------------------------


def table(rows: list[dict[str, Any]], size: Size, repeat: int = 1) -> str:
    """Markdown table of the results."""
    mb = 2**20
    lines = [
        f"Input: {size.side} × {size.side} px × {size.dates} dates, 5 bands (Zarr, zstd), "
        f"best of {repeat} run(s) per side, "
        f"{os.cpu_count()} cores, {platform.python_version()}. Memory: peak RSS of the "
        "process (in brackets: increase over the RSS after imports).",
        "",
        "| workload | eostation | hand-written | wall ratio | eostation peak | "
        "hand-written peak | memory ratio | outputs equal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        e, b = r["eostation"], r["baseline"]
        de, db = e["peak"] - e["start"], b["peak"] - b["start"]
        lines.append(
            f"| {r['workload']} {TITLES[r['workload']]} | {e['wall']:.1f} s | {b['wall']:.1f} s "
            f"| {e['wall'] / b['wall']:.2f}× | {e['peak'] / mb:.0f} MB ({de / mb:.0f}) "
            f"| {b['peak'] / mb:.0f} MB ({db / mb:.0f}) | {e['peak'] / b['peak']:.2f}× "
            f"({de / max(db, 1):.2f}×) | {r['equal']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="512² × 12 dates, a quick check")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="e.g. W1,W3")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per side (best wall time is kept)"
    )
    parser.add_argument("--side", choices=["both", "eostation", "baseline"], default="both")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SMALL if args.small else FULL
    if args.worker:
        side, workload, store, out = args.worker
        print(json.dumps(worker(side, workload, Path(store), Path(out), size)))
        return
    t0 = time.perf_counter()
    store = generate(DATA, size)
    print(f"input {store.name} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    rows = []
    for workload in args.only.split(","):
        row: dict[str, Any] = {"workload": workload}
        for _ in range(args.repeat):  # sides alternate; best wall, largest peak kept
            for side in ("baseline", "eostation"):
                if args.side in ("both", side):
                    out = DATA / "out" / f"{workload}-{side}"
                    got = run_side(side, workload, store, out, args.small)
                    print(f"{workload} {side}: {got['wall']:.2f} s", flush=True)
                    if side in row:
                        got["wall"] = min(got["wall"], row[side]["wall"])
                        got["peak"] = max(got["peak"], row[side]["peak"])
                    row[side] = got
        if args.side != "both":
            continue
        mine, theirs = DATA / "out" / f"{workload}-eostation", DATA / "out" / f"{workload}-baseline"
        row["equal"] = compare(workload, mine, theirs)
        rows.append(row)
        print(table([row], size).splitlines()[-1], flush=True)
    if rows:
        text = table(rows, size, args.repeat)
        print("\n" + text)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "engine.md").write_text(f"# Engine benchmark\n\n{text}\n")


if __name__ == "__main__":
    main()

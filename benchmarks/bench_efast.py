"""Native ``efast`` vs the EFAST-shaped UDP (UDFs in the sandbox): wall, CPU, peak memory.

Run: ``.venv/bin/python benchmarks/bench_efast.py`` (10 × 10 km, 2 months, as issue #15
asks; ``--km 1 --days 30`` for a quick look; ``--repeat 3`` runs every child three times,
alternating, and keeps medians). Each variant is evaluated in its own child
process on the demo world (NDVI of B04/B8A with SDR_Oa08/SDR_Oa17, targets every 5 days)
so that CPU time and peak resident memory are its own. The child is a subreaper and
reaps every process of its tree before it exits, so its rusage holds the UDF sandbox
workers too (they are killed when the run ends, and would otherwise be reaped by init);
a sampler of the process tree (psutil, every 0.1 s) cross-checks that figure and gives
the peak of the tree's summed resident memory. A third child only loads the inputs both read (S2 bands, SCL,
binned S3), which the demo world synthesises on the fly: the ratios are given as they
are and for the processing above that floor. A fourth child only starts (interpreter,
imports, collection registry): the floor under every variant; a fifth only imports numpy,
xarray, dask.array and rasterio, the part of that floor eostation cannot shed. Every child
computes on dask's threaded scheduler, as ``eostation run`` and the local job runner do
(left to choose, dask imports distributed to look for a client). Each child also times
its work alone, after its imports and registry (``work_s``), as ``bench_engine.py`` does
and as a warm batch runner sees a job. Prints a JSON report,
plus the largest difference between the two results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

_BARE = "import numpy, xarray, dask.array, rasterio"

_CHILD = """
import ctypes, os, sys, numpy as np
# A subreaper: sandboxed UDF processes orphaned when their worker is killed are
# reparented here and reaped below, so their CPU time reaches this child's rusage.
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
sys.path.insert(0, {root!r})
from tests.efast_udp import efast_udp_graph
from eostation.data.load import load_collection
from eostation.data.registry import build_registry
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
import dask, dask.threaded
dask.config.set(scheduler=dask.threaded.get)
collections = build_registry()
env = EvalContext(default_registry(), EngineLimits(udf_enabled=True),
                  load_collection=lambda c, r: load_collection(collections, c, r))
import time
work_started = time.perf_counter()  # imports and registry excluded, as in bench_engine
args = {args!r}
if {variant!r} == "native":
    graph = {{"process_graph": {{"e": {{"process_id": "efast", "arguments": args, "result": True}}}}}}
    out = evaluate(graph, env)
elif {variant!r} == "start":
    import xarray as xr
    out = xr.DataArray(np.zeros((1, 1)))
elif {variant!r} == "inputs":
    import dask
    from eostation.data.request import LoadRequest
    box = args["spatial_extent"]
    bbox = (box["west"], box["south"], box["east"], box["north"])
    extent = tuple(args["temporal_extent"])
    flags = {{"reprojection_type": "binning", "super_sampling": 2, "flag_band": "CLOUD_flags",
             "flag_bitmask": 255}}
    cubes = [
        load_collection(collections, "SENTINEL2_L2A", LoadRequest(bbox=bbox, temporal=extent, bands=args["s2_data_bands"])),
        load_collection(collections, "SENTINEL2_L2A", LoadRequest(bbox=bbox, temporal=extent, bands=["SCL"])),
        load_collection(collections, "SENTINEL3_SYN_L2_SYN",
                        LoadRequest(bbox=bbox, temporal=extent, bands=args["s3_data_bands"], options=flags)),
    ]
    dask.compute(*cubes)
    out = cubes[2].isel(t=0)
else:
    out = evaluate({{"process_graph": efast_udp_graph()}}, env, args)
np.save({path!r}, out.compute().values)
with open({path!r} + ".work", "w") as f:
    f.write(str(time.perf_counter() - work_started))
env.udf_workers.close()
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""


def _arguments(km: float, days: int) -> dict[str, object]:
    # ~0.009° per km at 15.7° N (west-east a little more; close enough for a benchmark).
    step = km / 111.0
    first = date(2023, 9, 1)
    start, stop = str(first), str(first + timedelta(days=days))
    return {
        "spatial_extent": {
            "west": -15.9,
            "south": 15.67,
            "east": -15.9 + step,
            "north": 15.67 + step,
        },
        "temporal_extent": [start, stop],
        "temporal_extent_target": [start, stop],
        "interval_days": 5,
        "temporal_score_stddev": 20,
        "s2_data_bands": ["B04", "B8A"],
        "s3_data_bands": ["SDR_Oa08", "SDR_Oa17"],
        "output_ndvi": True,
    }


class _TreeSampler(threading.Thread):
    """Samples a process tree every 0.1 s: the CPU time of its live processes (their own
    plus that of the children they reaped) and the sum of their resident memory."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.cpu_s = 0.0
        self.rss_sum = 0
        self.processes = 0
        self._seen: set[tuple[int, float]] = set()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            cpu, rss = 0.0, 0
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in tree:
                try:
                    with proc.oneshot():
                        t = proc.cpu_times()
                        rss += proc.memory_info().rss
                        self._seen.add((proc.pid, proc.create_time()))
                except psutil.NoSuchProcess:
                    continue
                cpu += t.user + t.system + t.children_user + t.children_system
            self.cpu_s = max(self.cpu_s, cpu)
            self.rss_sum = max(self.rss_sum, rss)
            self.processes = len(self._seen)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _measure(variant: str, args: dict[str, object], folder: Path) -> dict[str, float]:
    path = folder / f"{variant}.npy"
    code = (
        _BARE
        if variant == "bare"
        else _CHILD.format(root=str(ROOT), args=args, variant=variant, path=str(path))
    )
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    sampler = _TreeSampler(child.pid)
    sampler.start()
    # wait4: this child's rusage, which holds every process of its tree: the child is a
    # subreaper and reaps all of them (UDF sandbox workers included) before it exits.
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{variant} failed with exit code {child.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        # A cross-check of cpu_s from outside: it may only be a little lower (the last
        # 0.1 s, and processes that lived less than a sample).
        "cpu_s_tree_sampled": round(sampler.cpu_s, 2),
        "processes": sampler.processes,
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "peak_tree_rss_mib": round(sampler.rss_sum / 2**20),
        # The work alone, timed inside the child after its imports and registry.
        **(
            {"work_s": round(float(work.read_text()), 2)}
            if (work := Path(f"{path}.work")).exists()
            else {}
        ),
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over rounds (peaks: the largest)."""
    return {
        k: max(r[k] for r in runs)
        if k.startswith("peak")
        else round(statistics.median(r[k] for r in runs), 2)
        for k in runs[0]
    }


def main() -> None:
    """Measure both variants and print the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--km", type=float, default=10.0)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (medians kept)")
    options = parser.parse_args()
    args = _arguments(options.km, options.days)
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        variants = ("bare", "start", "inputs", "native", "udp")
        rounds = [[_measure(v, args, folder) for v in variants] for _ in range(options.repeat)]
        bare, start, inputs, native, udp = (_median([r[i] for r in rounds]) for i in range(5))
        a, b = np.load(folder / "native.npy"), np.load(folder / "udp.npy")
    report = {
        "case": {"km": options.km, "days": options.days, "load_average": os.getloadavg()},
        "bare_imports": bare,
        "start_only": start,
        "inputs_only": inputs,
        "native": native,
        "udp": udp,
        "rounds": options.repeat,
        "udp_over_native": {k: round(udp[k] / native[k], 1) for k in ("wall_s", "cpu_s")},
        # As a warm runner (or bench_engine, imports excluded) sees it: the work alone.
        "udp_over_native_work": round(udp["work_s"] / native["work_s"], 1),
        # Both read the same inputs (the demo world is synthesised on the fly): their
        # processing alone, above a run that only loads those inputs.
        "udp_over_native_above_inputs": {
            k: round((udp[k] - inputs[k]) / max(native[k] - inputs[k], 0.01), 1)
            for k in ("wall_s", "cpu_s")
        },
        "max_abs_difference": float(np.nanmax(np.abs(a - b))) if a.shape == b.shape else None,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

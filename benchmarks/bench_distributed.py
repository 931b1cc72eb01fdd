"""Distributed-cluster benchmark: engine workloads on separate Dask processes, and fairness.

Run: ``.venv/bin/python benchmarks/bench_distributed.py [--small] [--only W1,W2] [--long 600]``.
Not part of the test suite.

1. **Throughput.** The engine workloads of :mod:`bench_engine` (same input store, same
   process graphs), written through ``jobs.execute.write_outputs`` as a runner does, on
   - ``local``: the ``distributed.LocalCluster`` that ``eostation serve`` starts
     (2 worker processes × 1 thread, scheduler inside the client's process);
   - ``distributed``: ``dask scheduler`` + 2 ``eostation dask-worker`` processes (1 thread
     each), all separate processes on loopback TCP.
   The ratio distributed / local is the cost of the scheduler and workers being apart
   (target ≤ 1.2×). Inputs are read by the workers from the store, so pixels never pass
   through the scheduler.
2. **Fairness.** On the distributed cluster, user A's long job (``--long`` seconds of
   0.5 s tasks over both workers) runs; user B's tiny job (W1 on the 512² input) starts
   once A's is under way. Reported: B's wall time with eostation's size-class priorities
   and, for comparison, with Dask's plain first-come-first-served order (target: B within
   10 s with priorities).

The figures are printed with the machine's load and written to
``benchmarks/results/distributed.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE), str(HERE.parent)]

from bench_engine import DATA, FULL, RESULTS, SMALL, TITLES, graph  # noqa: E402
from engine_data import Size, ZarrS2, generate  # noqa: E402
from tests.dask_cluster import DaskCluster  # noqa: E402

WORKERS = 2


def run_workload(client: Any, workload: str, store: Path, out: Path, size: Size) -> float:
    """Wall seconds of one workload written through the runner's path on ``client``."""
    from eostation.engine.context import no_log
    from eostation.engine.limits import EngineLimits
    from eostation.engine.registry import default_registry
    from eostation.formats.registry import default_formats
    from eostation.jobs.execute import evaluate_lazily, write_outputs

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    source = ZarrS2(store)
    t0 = time.perf_counter()
    run = evaluate_lazily(
        graph(workload, size),
        registry=default_registry(),
        limits=EngineLimits(),
        formats=default_formats(),
        collections=type("One", (), {"get": staticmethod(lambda _id: source)})(),  # type: ignore[arg-type]
        log=no_log,
        cancelled=lambda: False,
        user_id=None,
    )
    write_outputs(
        run,
        out,
        formats=default_formats(),
        progress=lambda _p: None,
        cancelled=lambda: False,
        client=client,
    )
    return time.perf_counter() - t0


def _long_job(client: Any, seconds: float, stop: threading.Event) -> None:
    """User A: ``seconds`` of 0.5 s tasks per worker, submitted like a runner does."""
    import dask.array as da
    import numpy as np
    import xarray as xr

    from eostation.formats.registry import default_formats
    from eostation.jobs.execute import GraphRun, Output, write_outputs

    def nap(block: np.ndarray) -> np.ndarray:
        time.sleep(0.5)
        return block

    n = int(seconds * WORKERS / 0.5)
    data = xr.DataArray(da.ones(n, chunks=1).map_blocks(nap, dtype=float).sum())
    run = GraphRun(outputs=[Output(data, "JSON", {})])
    out = DATA / "out" / "long"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    from eostation.engine.context import Cancelled

    with contextlib.suppress(Cancelled):  # stopped at the end of the measurement
        write_outputs(
            run,
            out,
            formats=default_formats(),
            progress=lambda _p: None,
            cancelled=stop.is_set,
            client=client,
        )


def fairness(address: str, store: Path, long_seconds: float, fair: bool) -> float:
    """B's tiny job's wall time while A's long job runs (``fair``: eostation's priorities)."""
    from distributed import Client

    from eostation.jobs import cluster

    original: Callable[[int], int] = cluster.job_priority
    if not fair:
        cluster.job_priority = lambda _tasks: 0  # type: ignore[assignment]
    try:
        with Client(address) as a, Client(address) as b:
            stop = threading.Event()
            thread = threading.Thread(target=_long_job, args=(a, long_seconds, stop))
            thread.start()
            time.sleep(min(5.0, long_seconds / 4))  # A's tasks are queued and running
            took = run_workload(b, "W1", store, DATA / "out" / "tiny", SMALL)
            stop.set()
            thread.join()
            return took
    finally:
        cluster.job_priority = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="512² × 12 dates, a quick check")
    parser.add_argument("--only", default="W1,W2,W3,W4")
    parser.add_argument("--repeat", type=int, default=1, help="best of N per cluster")
    parser.add_argument("--long", type=float, default=600.0, help="A's job, seconds of work")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    size = SMALL if args.small else FULL
    store = generate(DATA, size)
    small_store = generate(DATA, SMALL)
    load = os.getloadavg()[0]
    rows = []
    # The scheduler and workers unpickle the benchmark's collection source (engine_data).
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    remote = DaskCluster(DATA / "cluster", env={"PYTHONPATH": path}).start_scheduler()
    for _ in range(WORKERS):
        remote.add_worker(memory="2GiB", threads=1)
    try:
        with (
            LocalCluster(
                n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
            ) as local_cluster,
            Client(local_cluster) as local,
            Client(remote.address) as dist,
        ):
            dist.wait_for_workers(WORKERS, timeout=120)
            for workload in args.only.split(","):
                times: dict[str, float] = {}
                for _ in range(args.repeat):
                    for name, client in (("local", local), ("distributed", dist)):
                        out = DATA / "out" / f"{workload}-{name}"
                        took = run_workload(client, workload, store, out, size)
                        times[name] = min(took, times.get(name, took))
                        print(f"{workload} {name}: {took:.2f} s", flush=True)
                rows.append((workload, times["local"], times["distributed"]))
        fair = fairness(remote.address, small_store, args.long, fair=True)
        print(f"tiny job while a {args.long:.0f} s job runs: {fair:.2f} s", flush=True)
        fifo = fairness(remote.address, small_store, args.long, fair=False)
        print(f"... in Dask's plain order: {fifo:.2f} s", flush=True)
    finally:
        remote.stop()
    lines = [
        f"input {size.name}; {WORKERS} workers × 1 thread; load average {load:.1f} "
        f"on {os.cpu_count()} cores at the start, {os.getloadavg()[0]:.1f} at the end",
        "",
        "| workload | local cluster s | distributed s | ratio |",
        "|---|---|---|---|",
    ]
    for workload, loc, dis in rows:
        lines.append(f"| {workload} {TITLES[workload]} | {loc:.2f} | {dis:.2f} | {dis / loc:.2f} |")
    lines += [
        "",
        f"Fairness: a tiny job (W1, 512²) while another user's {args.long:.0f} s job runs: "
        f"{fair:.2f} s with eostation's priorities, {fifo:.2f} s in Dask's plain order.",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distributed.md").write_text(f"# Distributed benchmark\n\n{text}\n")


if __name__ == "__main__":
    main()

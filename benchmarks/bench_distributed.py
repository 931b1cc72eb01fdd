"""Distributed-cluster benchmark: engine workloads on separate Dask processes, and fairness.

Run: ``.venv/bin/python benchmarks/bench_distributed.py [--small] [--only W1,W2] [--long 600]
[--fairness both|fair|fifo|none] [--data DIR]``. Not part of the test suite; the input
(``engine_data``, Zarr with one date per chunk) is generated under ``--data`` on first use.

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
   0.5 s tasks over both workers) runs; user B's tiny job (W1 on a quarter of the input) starts
   once A's is under way. Reported: B's wall time with eostation's size-class priorities
   and, for comparison, with Dask's plain first-come-first-served order (target: B within
   10 s with priorities).

The figures are printed with the machine's load and appended to
``benchmarks/results/distributed.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
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
from engine_data import Size, generate  # noqa: E402
from tests.dask_cluster import DaskCluster  # noqa: E402

WORKERS = 2


def lazy_run(workload: str, folder: Path, size: Size) -> Any:
    """The workload's ``GraphRun`` (lazy outputs), as a runner evaluates it.

    ``folder`` is a layout of :func:`engine_data.generate` (its ``collections.toml``
    registers ``BENCH_S2``), read as ``eostation serve`` with that data directory would.
    """
    from eostation.config import Settings
    from eostation.data.registry import build_registry
    from eostation.engine.context import no_log
    from eostation.engine.limits import EngineLimits
    from eostation.engine.registry import default_registry
    from eostation.formats.registry import default_formats
    from eostation.jobs.execute import evaluate_lazily
    from eostation.outbound import OutboundPolicy

    settings = Settings(data_dir=folder)
    return evaluate_lazily(
        graph(workload, size),
        registry=default_registry(),
        limits=EngineLimits.from_settings(settings, accounts=1),
        formats=default_formats(),
        collections=build_registry(folder, OutboundPolicy.from_settings(settings)),
        log=no_log,
        cancelled=lambda: False,
        user_id=None,
    )


def run_workload(client: Any, workload: str, folder: Path, out: Path, size: Size) -> float:
    """Wall seconds of one workload evaluated and written through the runner's path on
    ``client``."""
    from eostation.formats.registry import default_formats
    from eostation.jobs.execute import write_outputs

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    write_outputs(
        lazy_run(workload, folder, size),
        out,
        formats=default_formats(),
        progress=lambda _p: None,
        cancelled=lambda: False,
        client=client,
    )
    return time.perf_counter() - t0


def _scheduler_tasks(dask_scheduler: Any) -> int:
    return len(dask_scheduler.tasks)


def settle(client: Any, timeout: float = 30.0) -> None:
    """Wait until the scheduler holds no task of an earlier run: a run whose graph has the
    same keys would otherwise reuse results still in memory."""
    gc.collect()
    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(_scheduler_tasks) and time.monotonic() < deadline:
        time.sleep(0.1)


def graph_bytes(workload: str, folder: Path, size: Size) -> int:
    """Pickled size of the workload's task graph: what the client sends the scheduler."""
    import cloudpickle

    outputs = lazy_run(workload, folder, size).outputs
    return sum(len(cloudpickle.dumps(dict(o.data.__dask_graph__()))) for o in outputs)


def _long_job(client: Any, data: Path, seconds: float, stop: threading.Event) -> None:
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
    naps = xr.DataArray(da.ones(n, chunks=1).map_blocks(nap, dtype=float).sum())
    run = GraphRun(outputs=[Output(naps, "JSON", {})])
    out = data / "out" / "long"
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


def fairness(
    address: str, data: Path, folder: Path, tiny: Size, long_seconds: float, fair: bool
) -> float:
    """B's tiny job's wall time while A's long job runs (``fair``: eostation's priorities).

    The tiny job is W1 on the top-left ``tiny.side``² of ``folder``'s cube. It must have
    more chunks per task group than the cluster has threads (twice as many): Dask queues
    only such "root-ish" tasks on the scheduler in priority order; a job of a handful of
    chunks goes straight to the workers and overtakes A's queued tasks in any order.
    """
    from distributed import Client

    from eostation.jobs import cluster

    original: Callable[[int], int] = cluster.job_priority
    if not fair:
        cluster.job_priority = lambda _tasks: 0  # type: ignore[assignment]
    try:
        with Client(address) as a, Client(address) as b:
            stop = threading.Event()
            thread = threading.Thread(target=_long_job, args=(a, data, long_seconds, stop))
            thread.start()
            time.sleep(min(5.0, long_seconds / 4))  # A's tasks are queued and running
            took = run_workload(b, "W1", folder, data / "out" / "tiny", tiny)
            stop.set()
            thread.join()
            return took
    finally:
        cluster.job_priority = original


def throughput(
    args: argparse.Namespace, remote: DaskCluster, folder: Path, size: Size
) -> list[str]:
    """Every workload on both clusters, best of ``--repeat``; the table's rows."""
    from distributed import Client, LocalCluster

    rows = []
    with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="4GiB",
        ) as local_cluster,
        Client(local_cluster) as local,
        Client(remote.address) as dist,
    ):
        dist.wait_for_workers(WORKERS, timeout=120)
        for workload in args.only.split(","):
            times: dict[str, list[float]] = {"local": [], "distributed": []}
            for _ in range(args.repeat):
                for name, client in (("local", local), ("distributed", dist)):
                    out = args.data / "out" / f"{workload}-{name}"
                    settle(client)
                    took = run_workload(client, workload, folder, out, size)
                    times[name].append(took)
                    print(f"{workload} {name}: {took:.2f} s", flush=True)
            loc, dis = min(times["local"]), min(times["distributed"])
            runs = " / ".join(
                f"{a:.1f}, {b:.1f}"
                for a, b in zip(times["local"], times["distributed"], strict=True)
            )
            rows.append(
                f"| {workload} {TITLES[workload]} | {loc:.2f} | {dis:.2f} | {dis / loc:.2f} "
                f"| {graph_bytes(workload, folder, size) / 1e6:.2f} | {runs} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="512² × 12 dates, a quick check")
    parser.add_argument("--only", default="W1,W2,W3,W4", help="workloads; '' for none")
    parser.add_argument("--repeat", type=int, default=1, help="best of N per cluster")
    parser.add_argument("--long", type=float, default=600.0, help="A's job, seconds of work")
    parser.add_argument(
        "--fairness", choices=("both", "fair", "fifo", "none"), default="both",
        help="measure the tiny job with eostation's priorities, Dask's plain order, or both",
    )  # fmt: skip
    parser.add_argument("--data", type=Path, default=DATA, help="input and output folder")
    args = parser.parse_args()

    size = SMALL if args.small else FULL
    folder = generate(args.data, size, ("zarr-t1",))["zarr-t1"]
    tiny = Size(size.side // 2, size.dates)  # a quarter of the input
    load = os.getloadavg()[0]
    remote = DaskCluster(args.data / "cluster").start_scheduler()
    for _ in range(WORKERS):
        remote.add_worker(memory="4GiB", threads=1)
    lines = [
        f"input {size.name} (zarr-t1); {WORKERS} workers × 1 thread; load average {load:.1f} "
        f"on {os.cpu_count()} cores at the start",
    ]
    try:
        remote.wait_for_workers(WORKERS, timeout=120)
        if args.only:
            lines += [
                "",
                "| workload | local cluster s | distributed s | ratio | graph MB "
                "| runs (local, distributed) |",
                "|---|---|---|---|---|---|",
                *throughput(args, remote, folder, size),
            ]
        took = {}
        for mode in ("fair", "fifo"):
            if args.fairness in (mode, "both"):
                took[mode] = fairness(
                    remote.address, args.data, folder, tiny, args.long, mode == "fair"
                )
                print(f"tiny job while a {args.long:.0f} s job runs ({mode}): "
                      f"{took[mode]:.2f} s", flush=True)  # fmt: skip
        if took:
            lines += [
                "",
                f"Fairness: a tiny job (W1, {tiny.side}² × {tiny.dates}) while another user's {args.long:.0f} s job "
                "runs: "
                + ", ".join(
                    f"{v:.2f} s " + ("with eostation's priorities" if k == "fair"
                                     else "in Dask's plain order")
                    for k, v in took.items()
                ),
            ]  # fmt: skip
    finally:
        remote.stop()
    lines.append(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    text = "\n".join(lines)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "distributed.md").open("a") as f:
        f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')} {' '.join(sys.argv[1:])}\n\n{text}\n")


if __name__ == "__main__":
    main()

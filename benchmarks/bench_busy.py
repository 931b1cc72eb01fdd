"""A server under load: ``/.well-known/openeo`` latency while 100 estimates of the largest
allowed graph (10,000 nodes) run at once.

Run: ``.venv/bin/python benchmarks/bench_busy.py``. Starts the API (``create_app``, as
``eostation serve`` runs it: uvicorn, SQLite, the same GIL switch interval) in a child
process on a free loopback port, measures the ``/.well-known/openeo`` round trip on the
idle server (baseline), then again while 100 clients each ask for the estimate of a job
whose graph has 10,000 nodes (``EOSTATION_LIMITS__GRAPH_MAX_NODES``'s default), and prints
a JSON report with percentiles and their ratios to the baseline. Target: p99 under load
< 100 ms.

On a shared machine other processes' load hides part of the effect, so the server process
also runs a GIL probe: a thread that sleeps 1 ms in a loop and records how late it wakes
up. A thread of the server holding the GIL in a long C call delays it by that call's
length; the report gives the probe's p99 and longest delay, idle and under load.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_jobs import percentile
from tests.conftest import free_port

API = "/openeo/1.2"
NODES = 10_000
CLIENTS = 100


def largest_graph() -> dict[str, Any]:
    """A chain of 10,000 additions: as many nodes as the default limit allows."""
    nodes: dict[str, Any] = {"n0": {"process_id": "add", "arguments": {"x": 0, "y": 1}}}
    for i in range(1, NODES):
        nodes[f"n{i}"] = {
            "process_id": "add",
            "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1},
        }
    nodes[f"n{NODES - 1}"]["result"] = True
    return {"process_graph": nodes}


def latencies(http: httpx.Client, stop: threading.Event, out: list[float], pause: float) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        http.get("/.well-known/openeo").raise_for_status()
        out.append(time.perf_counter() - t0)
        time.sleep(pause)


def _probe(delays: list[float]) -> None:
    while True:
        t0 = time.perf_counter()
        time.sleep(0.001)
        delays.append(time.perf_counter() - t0 - 0.001)


def _server(data_dir: str, port: int, conn: Connection) -> None:
    """The API in this (spawned) process with the GIL probe; ``"probe"`` on ``conn``
    answers the probe's figures since the last ask."""
    import uvicorn

    from eostation.api.app import create_app
    from eostation.cli import GIL_SWITCH_SECONDS
    from eostation.config import Settings

    settings = Settings(data_dir=Path(data_dir), port=port, dask_workers=0, runners=0)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    delays: list[float] = []
    threading.Thread(target=_probe, args=(delays,), daemon=True).start()

    def answer() -> None:
        while conn.recv() == "probe":
            taken, delays[:] = list(delays), []
            conn.send((percentile(taken, 99), max(taken), len(taken)))

    threading.Thread(target=answer, daemon=True).start()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def _start(data_dir: Path) -> tuple[str, Connection, multiprocessing.process.BaseProcess]:
    port = free_port()
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=_server, args=(str(data_dir), port, theirs)
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/.well-known/openeo", timeout=1).status_code == 200:
                return url, ours, proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def _probed(conn: Connection) -> dict[str, float]:
    conn.send("probe")
    p99, longest, samples = conn.recv()
    return {"p99_ms": round(p99 * 1e3, 2), "max_ms": round(longest * 1e3, 2), "samples": samples}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, probe, proc = _start(Path(tmp) / "data")
        try:
            with httpx.Client(base_url=url, timeout=600) as http:
                idle = [0.0] * 0
                _probed(probe)
                for _ in range(200):
                    t0 = time.perf_counter()
                    http.get("/.well-known/openeo").raise_for_status()
                    idle.append(time.perf_counter() - t0)
                gil_idle = _probed(probe)
                job = http.post(API + "/jobs", json={"process": largest_graph()})
                job.raise_for_status()
                estimate = f"{API}/jobs/{job.headers['OpenEO-Identifier']}/estimate"
                t0 = time.perf_counter()
                http.get(estimate).raise_for_status()
                single = time.perf_counter() - t0

                answered: list[int] = []

                def client() -> None:
                    with httpx.Client(base_url=url, timeout=600) as own:
                        answered.append(own.get(estimate).status_code)

                busy: list[float] = []
                stop = threading.Event()
                sampler = threading.Thread(target=latencies, args=(http, stop, busy, 0.02))
                clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
                started = time.perf_counter()
                _probed(probe)
                sampler.start()
                for c in clients:
                    c.start()
                for c in clients:
                    c.join()
                wall = time.perf_counter() - started
                gil_busy = _probed(probe)
                stop.set()
                sampler.join()
        finally:
            proc.kill()
            proc.join()
    base = percentile(idle, 50)
    report = {
        "baseline_well_known_p50_ms": round(base * 1e3, 2),
        "single_estimate_s": round(single, 2),
        "concurrent_estimates": CLIENTS,
        "all_estimates_s": round(wall, 1),
        "estimates_ok": answered.count(200),
        "well_known_samples_under_load": len(busy),
        "well_known_p50_ms": round(percentile(busy, 50) * 1e3, 2),
        "well_known_p99_ms": round(percentile(busy, 99) * 1e3, 2),
        "well_known_max_ms": round(max(busy) * 1e3, 2),
        "p99_ratio_to_baseline": round(percentile(busy, 99) / base, 1),
        "target_p99_under_100ms": percentile(busy, 99) < 0.1,
        "server_gil_probe_idle": gil_idle,
        "server_gil_probe_under_load": gil_busy,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""A server under load: ``/.well-known/openeo`` latency while 100 estimates of the largest
allowed graph (10,000 nodes) run at once.

Run: ``.venv/bin/python benchmarks/bench_busy.py``. Starts ``eostation serve`` on a free
loopback port (SQLite, in-process Dask threads), measures the ``/.well-known/openeo``
round trip on the idle server (baseline), then again while 100 clients each ask for the
estimate of a job whose graph has 10,000 nodes (``EOSTATION_LIMITS__GRAPH_MAX_NODES``'s
default), and prints a JSON report with percentiles and their ratios to the baseline.
Target: p99 under load < 100 ms.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_jobs import percentile
from tests.conftest import LiveServer

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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "data").start()
        try:
            with httpx.Client(base_url=server.url, timeout=600) as http:
                idle = [0.0] * 0
                for _ in range(200):
                    t0 = time.perf_counter()
                    http.get("/.well-known/openeo").raise_for_status()
                    idle.append(time.perf_counter() - t0)
                job = http.post(API + "/jobs", json={"process": largest_graph()})
                job.raise_for_status()
                estimate = f"{API}/jobs/{job.headers['OpenEO-Identifier']}/estimate"
                t0 = time.perf_counter()
                http.get(estimate).raise_for_status()
                single = time.perf_counter() - t0

                answered: list[int] = []

                def client() -> None:
                    with httpx.Client(base_url=server.url, timeout=600) as own:
                        answered.append(own.get(estimate).status_code)

                busy: list[float] = []
                stop = threading.Event()
                probe = threading.Thread(target=latencies, args=(http, stop, busy, 0.02))
                clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
                started = time.perf_counter()
                probe.start()
                for c in clients:
                    c.start()
                for c in clients:
                    c.join()
                wall = time.perf_counter() - started
                stop.set()
                probe.join()
        finally:
            server.stop()
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
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

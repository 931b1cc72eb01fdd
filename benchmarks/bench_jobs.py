"""Batch-job latency: submit -> finished for a tiny job, and status polls with 100 jobs queued.

Run: ``.venv/bin/python benchmarks/bench_jobs.py``. Starts real servers (``eostation serve``
on a free loopback port, SQLite, in-process Dask threads) and prints a JSON report with
each figure and its ratio to a baseline measured in the same run (a ``GET
/.well-known/openeo`` round trip, the cheapest request the server answers).
Targets: median submit -> finished < 1 s; status-poll p99 < 100 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer

API = "/openeo/1.2"
TINY = {
    "process": {
        "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    }
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def baseline(http: httpx.Client, n: int = 200) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        http.get("/.well-known/openeo").raise_for_status()
        out.append(time.perf_counter() - t0)
    return out


def submit_to_finished(http: httpx.Client, n: int = 20) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        job_id = http.post(API + "/jobs", json=TINY).headers["OpenEO-Identifier"]
        http.post(f"{API}/jobs/{job_id}/results").raise_for_status()
        while http.get(f"{API}/jobs/{job_id}").json()["status"] != "finished":
            time.sleep(0.01)
        out.append(time.perf_counter() - t0)
    return out


def polls_with_queue(http: httpx.Client, queued: int = 100, polls: int = 500) -> list[float]:
    ids = []
    for _ in range(queued):
        job_id = http.post(API + "/jobs", json=TINY).headers["OpenEO-Identifier"]
        http.post(f"{API}/jobs/{job_id}/results").raise_for_status()
        ids.append(job_id)
    out = []
    for i in range(polls):
        t0 = time.perf_counter()
        body = http.get(f"{API}/jobs/{ids[i % queued]}").json()
        out.append(time.perf_counter() - t0)
        assert body["status"] == "queued"
    return out


def main() -> None:
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # As users run it: runners warm up, and the server answers once one is warm.
        t0 = time.perf_counter()
        server = LiveServer(Path(tmp) / "a" / "data", env={"EOSTATION_JOBS__WARM_UP": "true"})
        server.start()
        report["server_start_s"] = round(time.perf_counter() - t0, 2)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                # The first job right after the server answers.
                first = submit_to_finished(http, n=1)[0]
                base = baseline(http)
                lat = submit_to_finished(http)
        finally:
            server.stop()
        idle = LiveServer(Path(tmp) / "b" / "data", env={"EOSTATION_RUNNERS": "0"}).start()
        try:
            with httpx.Client(base_url=idle.url, timeout=30) as http:
                polls = polls_with_queue(http)
                base_idle = baseline(http)
        finally:
            idle.stop()
    median_base = statistics.median(base)
    p99_base = percentile(base_idle, 99)
    report["baseline_request_median_ms"] = round(median_base * 1000, 2)
    report["submit_to_finished_median_s"] = round(statistics.median(lat), 3)
    report["submit_to_finished_max_s"] = round(max(lat), 3)
    report["first_job_after_start_s"] = round(first, 3)
    report["first_job_vs_later_median"] = round(first / statistics.median(lat), 1)
    report["submit_to_finished_vs_baseline"] = round(statistics.median(lat) / median_base, 1)
    report["status_poll_p99_ms_100_queued"] = round(percentile(polls, 99) * 1000, 2)
    report["status_poll_median_ms_100_queued"] = round(statistics.median(polls) * 1000, 2)
    report["status_poll_p99_vs_baseline_p99"] = round(percentile(polls, 99) / p99_base, 2)
    report["targets_met"] = statistics.median(lat) < 1.0 and percentile(polls, 99) < 0.1
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

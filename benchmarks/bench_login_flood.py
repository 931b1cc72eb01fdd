"""A wrong-password flood against ``GET /credentials/basic``: how much it slows everyone else.

Run: ``.venv/bin/python benchmarks/bench_login_flood.py``. Starts real servers
(``eostation serve`` on free loopback ports, one password user) and measures the p50/p99
latency of ``GET /.well-known/openeo`` (the cheapest request) three ways, all in the
same run:

- idle: no flood (the baseline);
- flood, limits on: the default rate limits and per-account back-off;
- flood, limits off: ``EOSTATION_RATE_LIMITS__LOGINS_PER_MINUTE=0`` and
  ``…__LOGIN_FAILURES=0``, so every attempt reaches argon2 (which runs in its own
  small thread pool, off the event loop).

The flood is bounded: ``FLOODERS`` threads for ``SECONDS`` seconds, loopback only.
Prints a JSON report with each figure and its ratio to the idle p99.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer

FLOODERS = 8
SECONDS = 8.0
WRONG = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def probe(url: str, seconds: float) -> list[float]:
    """Latencies of sequential ``/.well-known/openeo`` requests for ``seconds``."""
    out = []
    with httpx.Client(base_url=url, timeout=30) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            http.get("/.well-known/openeo").raise_for_status()
            out.append(time.perf_counter() - t0)
            time.sleep(0.01)
    return out


def flood(url: str, stop: threading.Event, answers: Counter[int]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            answers[http.get("/openeo/1.2/credentials/basic", headers=WRONG).status_code] += 1


def measure(url: str, flooded: bool) -> dict[str, float | dict[int, int]]:
    stop, answers = threading.Event(), Counter[int]()
    threads = [threading.Thread(target=flood, args=(url, stop, answers)) for _ in range(FLOODERS)]
    if flooded:
        for t in threads:
            t.start()
        time.sleep(0.5)  # let the flood build up
    latencies = probe(url, SECONDS)
    stop.set()
    for t in threads if flooded else []:
        t.join()
    return {
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "probes": len(latencies),
        "login_answers": dict(answers),
    }


def server(root: Path, name: str, env: dict[str, str]) -> LiveServer:
    s = LiveServer(root / name / "data", env={"EOSTATION_SECRET_KEY": "bench", **env})
    s.data_dir.mkdir(parents=True)
    s.users("add", "alice", "--password", "a-pw")
    return s.start()


def main() -> None:
    report: dict[str, object] = {"flooders": FLOODERS, "seconds": SECONDS}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        limited = server(root, "limited", {})
        try:
            report["idle"] = measure(limited.url, flooded=False)
            report["flood_limits_on"] = measure(limited.url, flooded=True)
        finally:
            limited.stop()
        unlimited = server(
            root,
            "unlimited",
            {
                "EOSTATION_RATE_LIMITS__LOGINS_PER_MINUTE": "0",
                "EOSTATION_RATE_LIMITS__LOGIN_FAILURES": "0",
            },
        )
        try:
            report["flood_limits_off"] = measure(unlimited.url, flooded=True)
        finally:
            unlimited.stop()
    idle_p99 = report["idle"]["p99_ms"]  # type: ignore[index]
    for key in ("flood_limits_on", "flood_limits_off"):
        entry = report[key]
        entry["p99_ratio_to_idle"] = round(entry["p99_ms"] / idle_p99, 2)  # type: ignore[index]
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()

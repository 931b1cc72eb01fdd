"""The methane-plume notebook at scale: 50 plume jobs through ``MultiBackendJobManager``.

Run: ``.venv/bin/python benchmarks/bench_notebook.py [--jobs 50]``. Starts ``eostation
serve`` four times, in the order default runners (= ``concurrent_jobs`` = 2), one runner,
one runner, default (so that a drift in machine load weighs on both alike), runs the
same plume jobs through the official client's job manager on each and prints a JSON
report: wall time per job, and the ratio to the same plume request run synchronously
(baseline, measured on the same server) and between the two runner counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import openeo
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer
from tests.e2e.test_notebooks import DAYS, PLUMES, plume_cube, run_plume_jobs


def plume_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "lon": 40.0 + (i % 25),
                "lat": 30.0 + 0.4 * (i // 25),
                "start": f"2022-06-{1 + i % 28:02d}",
            }
            for i in range(n)
        ]
    )


def measure(root: Path, jobs: int, env: dict[str, str]) -> dict[str, float]:
    server = LiveServer(root / "data", env=env).start()
    try:
        con = openeo.connect(server.url)
        t0 = time.perf_counter()
        for _ in range(5):
            plume_cube(con, DAYS, PLUMES).execute()
        sync = (time.perf_counter() - t0) / 5
        t0 = time.perf_counter()
        series = run_plume_jobs(server.url, plume_rows(jobs), root / "jobs")
        total = time.perf_counter() - t0
        assert len(series) == jobs
    finally:
        server.stop()
    return {"sync_request_s": sync, "jobs_total_s": total, "per_job_s": total / jobs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    report: dict[str, object] = {"jobs": args.jobs}
    runs: dict[str, list[dict[str, float]]] = {"default_runners": [], "one_runner": []}
    envs = {"default_runners": {}, "one_runner": {"EOSTATION_RUNNERS": "1"}}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(
            ("default_runners", "one_runner", "one_runner", "default_runners")
        ):
            runs[name].append(measure(Path(tmp) / f"{i}", args.jobs, envs[name]))
    for name, measured in runs.items():
        report[name] = {k: sum(m[k] for m in measured) / len(measured) for k in measured[0]}
    default, single = runs["default_runners"], runs["one_runner"]
    report["per_job_vs_sync_request"] = sum(
        m["per_job_s"] / m["sync_request_s"] for m in default
    ) / len(default)
    report["one_runner_vs_default"] = sum(m["jobs_total_s"] for m in single) / sum(
        m["jobs_total_s"] for m in default
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

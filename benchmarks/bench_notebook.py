"""The methane-plume notebook at scale: 50 plume jobs through ``MultiBackendJobManager``.

Run: ``.venv/bin/python benchmarks/bench_notebook.py [--jobs 50]``. Starts ``eostation
serve`` twice (default runners = ``concurrent_jobs`` = 2, then ``--runners 1``), runs the
same plume jobs through the official client's job manager on each and prints a JSON
report: wall time per job, and the ratio to the same plume request run synchronously
(baseline, measured in the same run) and between the two runner counts.
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
    with tempfile.TemporaryDirectory() as tmp:
        default = measure(Path(tmp) / "default", args.jobs, {})
        single = measure(Path(tmp) / "single", args.jobs, {"EOSTATION_RUNNERS": "1"})
    report["default_runners"] = default
    report["one_runner"] = single
    report["per_job_vs_sync_request"] = default["per_job_s"] / default["sync_request_s"]
    report["one_runner_vs_default"] = single["jobs_total_s"] / default["jobs_total_s"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

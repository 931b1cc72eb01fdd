"""A live server on PostgreSQL: batch jobs with the official client, and a database restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openeo
import pytest

from eostation.jobs.store import JobStore
from eostation.migrations import open_database
from tests.conftest import LiveServer
from tests.jobs_support import slow_graph
from tests.pg_server import PostgresServer, _require_bindir

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FAST = {"EOSTATION_JOBS__POLL_SECONDS": "0.05"}


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PostgresServer]:
    """A server of this module's own: one test restarts it under the others' feet."""
    server = PostgresServer(_require_bindir()).start()
    yield server
    server.remove()


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def wait_for(job: Any, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = dict(job.describe())
        if info["status"] in statuses:
            return info
        time.sleep(0.1)
    raise AssertionError(f"timed out; last: {info}")


def test_batch_job_on_postgresql(own_pg: PostgresServer, tmp_path: Path) -> None:
    url = own_pg.create_database()
    server = LiveServer(tmp_path / "data", env={**FAST, "EOSTATION_DATABASE_URL": url}).start()
    try:
        con = openeo.connect(server.url)
        job = con.create_job(
            {
                "process_graph": {
                    "a": {"process_id": "add", "arguments": {"x": 1, "y": 10}, "result": True}
                }
            },
            title="on postgres",
        )
        job.start_and_wait(max_poll_interval=0.2, print=lambda *_: None)
        path = job.get_results().download_file(tmp_path / "out.json")
        assert json.loads(path.read_text()) == 11
    finally:
        server.stop()
    # The job lives in PostgreSQL, not in a SQLite file in the data directory.
    assert not (tmp_path / "data" / "eostation.db").exists()
    engine = open_database(url)
    stored = JobStore(engine).find(job.job_id)
    engine.dispose()
    assert (
        stored is not None and stored.title == "on postgres" and stored.status.value == "finished"
    )


def test_jobs_survive_a_database_restart(own_pg: PostgresServer, tmp_path: Path) -> None:
    url = own_pg.create_database()
    env = {**FAST, "EOSTATION_DATABASE_URL": url, "EOSTATION_RUNNERS": "0"}
    server = LiveServer(tmp_path / "data", env=env).start()
    # One runner that knows the slow test process, so the second job waits in the queue.
    worker_env = {**os.environ, "EOSTATION_DASK_WORKERS": "0", **env}
    cmd = [sys.executable, "-m", "tests.jobs_support", "worker", "--data-dir", str(server.data_dir)]
    worker = subprocess.Popen(cmd, cwd=ROOT, env=worker_env, stderr=subprocess.DEVNULL)
    try:
        con = openeo.connect(server.url)
        running = con.create_job(slow_graph(n=20, seconds=0.2), title="running")
        queued = con.create_job(slow_graph(n=3, seconds=0.1), title="queued")
        running.start()
        wait_for(running, {"running"})
        queued.start()
        assert queued.status() == "queued"
        own_pg.restart()  # drops every connection of the server and the runner
        infos = [wait_for(job, {"finished", "error"}, timeout=120) for job in (running, queued)]
        for job, info in zip((running, queued), infos, strict=True):
            if info["status"] == "error":  # allowed, but never silently
                assert job.logs(level="error"), f"{info['title']} errored without a reason"

        reasons = [[e["message"] for e in job.logs(level="error")] for job in (running, queued)]
        assert [i["status"] for i in infos] == ["finished", "finished"], reasons
        # A run cut off by the outage is queued again at once, not after the 30 s stale limit.
        messages = " ".join(e["message"] for e in running.logs())
        assert infos[0]["attempts"] == 1 or "database was unreachable" in messages
        assert _time(infos[0]["updated"]) - _time(infos[1]["updated"]) < timedelta(seconds=20)
        assert running.get_results().get_assets()[0].load_json() == 20.0
        assert queued.get_results().get_assets()[0].load_json() == 3.0
        assert worker.poll() is None  # the runner lived through it
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()


def test_requests_while_the_database_is_down_get_503(
    own_pg: PostgresServer, tmp_path: Path
) -> None:
    server = LiveServer(
        tmp_path / "data", env={"EOSTATION_DATABASE_URL": own_pg.create_database()}
    ).start()
    jobs_url = server.url + "/openeo/1.2/jobs"
    try:
        assert httpx.get(jobs_url, timeout=30).status_code == 200
        own_pg.stop()
        try:
            down = httpx.get(jobs_url, timeout=30)
        finally:
            own_pg.start()
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert down.json()["code"] == "ServiceUnavailable"
        assert "database" in down.json()["message"]
        assert httpx.get(jobs_url, timeout=30).json()["jobs"] == []  # reconnected
    finally:
        server.stop()

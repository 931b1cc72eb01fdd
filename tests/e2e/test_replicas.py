"""Two API replicas (``serve --no-runners``), one runner process, one database (a SQLite file
or PostgreSQL) and job results on an S3 emulator: jobs move freely between the replicas,
and survive a replica killed with ``kill -9`` and an object store that is down for 10 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openeo
import pytest
import rasterio

from tests.conftest import LiveServer
from tests.e2e.test_jobs import mean_cube
from tests.jobs_support import slow_graph
from tests.s3_server import S3Emulator, s3_emulator  # noqa: F401

# Three servers and a runner per database: on a loaded machine starting them alone can take
# minutes, which the default 300 s per test (setup included) does not allow for.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Replicas:
    a: LiveServer
    b: LiveServer
    env: dict[str, str]
    root: Path
    bucket: str
    s3: S3Emulator

    def replica(self, name: str) -> LiveServer:
        """Another API replica on the same database and store."""
        return LiveServer(self.root / name, env=self.env, args=("--no-runners",)).start()

    def objects(self) -> list[str]:
        import s3fs

        fs = s3fs.S3FileSystem(**self.s3.options)
        fs.invalidate_cache()
        return sorted(str(p).removeprefix(f"{self.bucket}/results/") for p in fs.find(self.bucket))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def replicas(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    s3_emulator: S3Emulator,  # noqa: F811
) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp(f"replicas-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'shared.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    bucket = s3_emulator.bucket()
    env = {
        "EOSTATION_DATABASE_URL": url,
        "EOSTATION_SECRET_KEY": "one key for every replica",
        "EOSTATION_JOBS__POLL_SECONDS": "0.05",
        **s3_emulator.env(f"s3://{bucket}/results"),
    }
    a, b = (LiveServer(root / name, env=env, args=("--no-runners",)) for name in "ab")
    with ThreadPoolExecutor(2) as pool:  # both replicas start at once: half the wait
        list(pool.map(LiveServer.start, (a, b)))
    # The runner-only process; it knows the slow test process of tests.jobs_support.
    worker_env = {**os.environ, "EOSTATION_DASK_WORKERS": "0", **env}
    cmd = [sys.executable, "-m", "tests.jobs_support", "worker", "--data-dir", str(root / "w")]
    with (root / "worker.log").open("wb") as out:
        worker = subprocess.Popen(cmd, cwd=ROOT, env=worker_env, stdout=out, stderr=out)
    yield Replicas(a, b, env, root, bucket, s3_emulator)
    worker.terminate()  # requeues a running job, which may take a moment under load
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)
    a.stop()
    b.stop()


def _wait(con: openeo.Connection, job_id: str, statuses: set[str], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = dict(con.job(job_id).describe())
        if info["status"] in statuses:
            return info
        time.sleep(0.1)
    raise AssertionError(f"timed out; last: {info}")


def _pixels(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def test_a_job_runs_across_replicas_and_matches_local_storage(
    replicas: Replicas, live_server: str, tmp_path: Path
) -> None:
    con_a, con_b = openeo.connect(replicas.a.url), openeo.connect(replicas.b.url)
    job = mean_cube(con_a).create_job(out_format="GTiff", title="across replicas")
    assert con_b.job(job.job_id).describe()["title"] == "across replicas"
    job.start()
    info = _wait(con_b, job.job_id, {"finished", "error"})
    assert info["status"] == "finished", con_b.job(job.job_id).logs()
    # Downloaded through the other replica, from S3.
    [path] = (
        con_b.job(job.job_id)
        .get_results()
        .download_files(tmp_path / "s3", include_stac_metadata=False)
    )
    assert path.suffix == ".tif"
    stored = replicas.objects()
    assert f"{job.job_id}/" in stored[0] and any(s.endswith("/job-results.json") for s in stored)
    assert not list((replicas.root / "w" / "jobs" / job.job_id).glob("*"))  # staging cleared
    # The same graph on a server that keeps results on its local disk.
    local = tmp_path / "local.tif"
    mean_cube(openeo.connect(live_server)).execute_batch(
        local, out_format="GTiff", max_poll_interval=0.2
    )
    assert np.array_equal(_pixels(path), _pixels(local), equal_nan=True)
    assert float(np.nanmean(_pixels(path))) > 0
    # A signed link from one replica works on the other (one key from the settings).
    [asset] = con_a.job(job.job_id).get_results().get_metadata()["assets"].values()
    assert asset["href"].startswith(replicas.a.url)
    other = asset["href"].replace(replicas.a.url, replicas.b.url)
    for href in (asset["href"], other):
        response = httpx.get(href, timeout=60)
        assert response.status_code == 200 and response.content == path.read_bytes()
    signature, name = other.rsplit("/", 2)[1:]
    forged_url = other.replace(f"/{signature}/{name}", f"/{signature[::-1]}/{name}")
    forged = httpx.get(forged_url, timeout=60)
    assert forged.status_code == 404 and forged.json()["code"] == "FileNotFound"


def test_a_job_started_on_one_replica_is_cancelled_on_the_other(replicas: Replicas) -> None:
    con_a, con_b = openeo.connect(replicas.a.url), openeo.connect(replicas.b.url)
    job = con_a.create_job(slow_graph(n=200, seconds=0.1), title="to cancel")
    job.start()
    _wait(con_b, job.job_id, {"running"})
    con_b.job(job.job_id).stop()
    assert job.status() == "canceled"
    time.sleep(1.5)  # the runner notices at its next heartbeat and stops
    assert job.status() == "canceled"
    messages = [e["message"] for e in job.logs()]
    assert any("canceled by the user" in m for m in messages)
    response = httpx.get(f"{replicas.a.url}/openeo/1.2/jobs/{job.job_id}/results", timeout=30)
    assert response.status_code == 400 and response.json()["code"] == "JobNotFinished"


def test_clients_keep_going_when_a_replica_is_killed(replicas: Replicas) -> None:
    doomed = replicas.replica("doomed")
    con_c, con_b = openeo.connect(doomed.url), openeo.connect(replicas.b.url)
    jobs = [con_c.create_job(slow_graph(n=k, seconds=0.05), title=f"k{k}") for k in (3, 4, 5)]
    for job in jobs:
        job.start()
    assert doomed.proc is not None
    os.kill(doomed.proc.pid, signal.SIGKILL)
    doomed.proc.wait(10)
    with pytest.raises(httpx.HTTPError):
        httpx.get(doomed.url + "/openeo/1.2/jobs", timeout=5)
    for job, k in zip(jobs, (3, 4, 5), strict=True):
        info = _wait(con_b, job.job_id, {"finished", "error"})
        assert info["status"] == "finished", con_b.job(job.job_id).logs()
        assert con_b.job(job.job_id).get_results().get_assets()[0].load_json() == float(k)


# The store outage does not depend on the database: run once.
@pytest.mark.parametrize("replicas", ["sqlite"], indirect=True)
def test_an_object_store_down_for_ten_seconds_delays_but_never_corrupts(
    replicas: Replicas,
) -> None:
    con_b = openeo.connect(replicas.b.url)
    job = openeo.connect(replicas.a.url).create_job(slow_graph(n=30, seconds=0.1))
    job.start()
    _wait(con_b, job.job_id, {"running"})
    results_url = f"{replicas.b.url}/openeo/1.2/jobs/{job.job_id}/results"
    seen = set()
    with replicas.s3.outage():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = httpx.get(results_url, timeout=30)
            seen.add(con_b.job(job.job_id).status())
            # Never a partial result: until the manifest is written, nothing is listed.
            assert response.status_code == 400, response.text
            time.sleep(0.5)
    assert seen == {"running"}  # the upload waits for the store (retries, heartbeat going)
    info = _wait(con_b, job.job_id, {"finished", "error"})
    assert info["status"] == "finished", con_b.job(job.job_id).logs()
    assert con_b.job(job.job_id).get_results().get_assets()[0].load_json() == 30.0
    warnings = [e["message"] for e in con_b.job(job.job_id).logs(level="warning")]
    assert not any("interrupted" in w for w in warnings)  # not mistaken for a dead runner
    stored = [o for o in replicas.objects() if o.startswith(job.job_id)]
    assert len(stored) == 2 and sum(o.endswith("/job-results.json") for o in stored) == 1


@pytest.mark.parametrize("replicas", ["postgresql"], indirect=True)
def test_a_postgresql_restart_mid_job_loses_nothing(
    replicas: Replicas, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_server")
    con_a, con_b = openeo.connect(replicas.a.url), openeo.connect(replicas.b.url)
    running = con_a.create_job(slow_graph(n=30, seconds=0.1), title="running")
    queued = con_a.create_job(slow_graph(n=4, seconds=0.05), title="queued")
    running.start()
    _wait(con_b, running.job_id, {"running"})
    queued.start()
    pg.restart()  # drops every connection of both replicas and the runner
    statuses = [_wait(con_b, j.job_id, {"finished", "error"})["status"] for j in (running, queued)]
    for job, status in zip((running, queued), statuses, strict=True):
        if status == "error":  # allowed, but never silently
            assert con_b.job(job.job_id).logs(level="error"), f"{job.job_id} failed silently"
    assert statuses == ["finished", "finished"]
    assert con_a.job(running.job_id).get_results().get_assets()[0].load_json() == 30.0
    assert con_b.job(queued.job_id).get_results().get_assets()[0].load_json() == 4.0

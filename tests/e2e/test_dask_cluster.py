"""Jobs on a distributed Dask cluster of separate processes, and what happens when parts die.

One deployment per module: ``dask scheduler``, two ``eostation dask-worker`` processes,
``eostation serve --scheduler`` without runners of its own, and two runner processes
(``eostation worker --scheduler``, with the slow test processes registered). Every fault
test ends with the job ``finished`` with the right value, and nothing partial is served
while it recovers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
from openeo.rest import OpenEoApiError

from eostation.jobs.store import JobStore
from eostation.migrations import open_database
from tests.conftest import LiveServer
from tests.dask_cluster import ROOT, DaskCluster
from tests.jobs_support import slow_graph
from tests.unit.jobs.test_priority import thread_nices

pytestmark = pytest.mark.e2e

FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}
AOI = {"west": 5.0, "south": 51.2, "east": 5.03, "north": 51.23}


def _engine_imported(dask_scheduler: Any = None) -> bool:
    return "eostation.engine.processes.chunk_reducers" in sys.modules and "zarr" in sys.modules


class Deployment:
    """A cluster, an API server using it, and runner processes."""

    def __init__(self, base: Path) -> None:
        # The workers start at normal priority: the runners' plugin must nice them.
        self.cluster = DaskCluster(
            base / "dask", env={"EOSTATION_JOBS__RUNNER_NICE": "0"}
        ).start_scheduler()
        self.cluster.add_worker()
        self.cluster.add_worker()
        env = {**FAST, "EOSTATION_RUNNERS": "0", "EOSTATION_DASK_SCHEDULER": self.cluster.address}
        self.server = LiveServer(base / "data", env=env)
        self.server.data_dir.mkdir(parents=True)
        self.server.users("add", "alice", "--password", "wonderland")
        self.server.users("add", "bob", "--password", "builder")
        self.server.start()
        self.env = {**os.environ, "EOSTATION_DASK_WORKERS": "0", **env}
        self.runners: list[subprocess.Popen[bytes]] = []
        self.cluster.wait_for_workers(2)
        with self.cluster.client() as client:  # before any runner warms the workers up
            self.preloaded = [
                client.run_on_scheduler(_engine_imported),
                *client.run(_engine_imported).values(),
            ]
        self.add_runner()
        self.add_runner()

    def add_runner(self) -> subprocess.Popen[bytes]:
        data = str(self.server.data_dir)
        cmd = [sys.executable, "-m", "tests.jobs_support", "worker", "--data-dir", data]
        cmd += ["--scheduler", self.cluster.address]
        with (self.cluster.base / f"runner-{len(self.runners)}.log").open("ab") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        self.runners.append(proc)
        return proc

    def connect(self, user: str = "alice") -> openeo.Connection:
        con = openeo.connect(self.server.url)
        con.authenticate_basic(user, {"alice": "wonderland", "bob": "builder"}[user])
        return con

    def store(self) -> JobStore:
        return JobStore(open_database(f"sqlite:///{self.server.data_dir / 'eostation.db'}"))

    def stop(self) -> None:
        for proc in self.runners:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.runners:
            proc.wait(15)
        self.server.stop()
        self.cluster.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    d = Deployment(tmp_path_factory.mktemp("dask-cluster"))
    yield d
    d.stop()


def wait_for(job: Any, predicate: Any, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = dict(job.describe())
        if predicate(info):
            return info
        time.sleep(0.05)
    raise AssertionError(f"timed out; last: {info}")


def ended(info: dict[str, Any]) -> bool:
    return info["status"] in ("finished", "error", "canceled")


def assert_not_served(job: Any) -> None:
    with pytest.raises(OpenEoApiError) as err:
        job.get_results().get_metadata()
    assert err.value.code == "JobNotFinished"


def test_runners_nice_every_worker_of_the_cluster(deployment: Deployment) -> None:
    """API latency first: the runners' plugin runs each Dask worker (all threads) niced."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("per-thread nice values are read from /proc")
    deadline = time.monotonic() + 60
    nices: dict[str, list[int]] = {}
    while time.monotonic() < deadline:
        nices = {w: thread_nices(pid) for w, pid in deployment.cluster.worker_pids().items()}
        if len(nices) == 2 and all(set(n) == {10} for n in nices.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"worker threads' nice values: {nices}")


def test_demo_job_on_the_cluster_matches_the_local_result(
    deployment: Deployment, tmp_path: Path
) -> None:
    con = deployment.connect()
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=AOI,
        temporal_extent=["2022-06-01", "2022-06-20"],
        bands=["B04", "B08"],
    ).reduce_dimension("t", reducer="mean")
    cube.execute_batch(tmp_path / "batch.tif", out_format="GTiff", max_poll_interval=0.2)
    cube.download(tmp_path / "sync.tif", format="GTiff")  # computed in the API process
    with rasterio.open(tmp_path / "batch.tif") as b, rasterio.open(tmp_path / "sync.tif") as s:
        batch, sync = b.read(), s.read()
        assert b.crs == s.crs and b.transform == s.transform
    assert batch.shape[0] == 2 and batch.shape[1] > 100 and np.isfinite(batch).mean() > 0.5
    np.testing.assert_array_equal(batch, sync)


def test_scheduler_and_workers_load_the_engine_before_the_first_job(
    deployment: Deployment,
) -> None:
    # The scheduler unpickles each graph, so it imports what the tasks name; without the
    # preload, the first job on a fresh cluster waited seconds for those imports
    # (bench_distributed: 5-8 s for W1 on 512² against 1 s once warm).
    assert deployment.preloaded == [True, True, True], deployment.cluster.logs()


def test_usage_counts_the_cpu_of_the_dask_workers(deployment: Deployment) -> None:
    # 12 chunks each keeping a worker thread busy for 0.25 s: 3 CPU seconds on the workers,
    # while the runner itself only submits and waits.
    job = deployment.connect().create_job(slow_graph(n=12, seconds=0.25, busy=True))
    job.start()
    info = wait_for(job, ended)
    assert info["status"] == "finished", job.logs()
    assert job.get_results().get_assets()[0].load_json() == 12.0
    cpu = info["usage"]["cpu"]["value"]
    assert 3.0 * 0.95 <= cpu < 3.0 * 4, info["usage"]
    assert info["costs"] >= 0.001 * 3.0 * 0.95


def test_killed_dask_worker_is_recomputed(deployment: Deployment) -> None:
    job = deployment.connect().create_job(slow_graph(n=40, seconds=0.1))
    job.start()
    wait_for(job, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    victim = next(iter(deployment.cluster.worker_pids().values()))
    os.kill(victim, signal.SIGKILL)
    info = wait_for(job, ended)
    assert info["status"] == "finished" and info["attempts"] == 1, job.logs()
    assert job.get_results().get_assets()[0].load_json() == 40.0
    deployment.cluster.wait_for_workers(2)  # the nanny started a new worker process


def test_small_job_of_another_user_is_not_starved(deployment: Deployment) -> None:
    # alice's job has 300 tasks of 0.1 s on two one-thread workers (15 s of work) ...
    big = deployment.connect("alice").create_job(slow_graph(n=300, seconds=0.1))
    big.start()
    wait_for(big, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    # ... bob's has 12: more than twice the threads, so Dask queues them on the scheduler
    # like alice's, and in its first-come-first-served order they would wait for every
    # queued task of alice's job (bob's job would end when alice's is nearly done).
    small = deployment.connect("bob").create_job(slow_graph(n=12, seconds=0.1))
    small.start()
    info = wait_for(small, ended)
    alice = big.describe()
    assert info["status"] == "finished" and small.get_results().get_assets()[0].load_json() == 12
    assert alice["status"] == "running" and alice["progress"] < 70, alice
    big.stop()


def test_killed_runner_is_taken_over(deployment: Deployment) -> None:
    job = deployment.connect().create_job(slow_graph(n=30, seconds=0.1))
    job.start()
    wait_for(job, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    holder = deployment.store().find(job.job_id).runner  # type: ignore[union-attr]
    pid = int(holder.split("/")[1])  # type: ignore[union-attr]
    runner = next(r for r in deployment.runners if r.pid == pid)
    os.kill(pid, signal.SIGKILL)
    runner.wait(10)
    assert_not_served(job)
    info = wait_for(job, ended)
    assert info["status"] == "finished" and info["attempts"] == 2, job.logs()
    assert job.get_results().get_assets()[0].load_json() == 30.0
    deployment.add_runner()  # keep two for the next test


def test_killed_scheduler_requeues_the_job(deployment: Deployment) -> None:
    job = deployment.connect().create_job(slow_graph(n=40, seconds=0.1))
    job.start()
    wait_for(job, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    deployment.cluster.kill_scheduler()
    wait_for(job, lambda i: i["status"] == "queued", timeout=30)
    assert_not_served(job)
    deployment.cluster.start_scheduler()
    info = wait_for(job, ended, timeout=90)
    assert info["status"] == "finished" and info["attempts"] == 2, deployment.cluster.logs()
    assert job.get_results().get_assets()[0].load_json() == 40.0
    warnings = [e["message"] for e in job.logs(level="warning")]
    assert any("lost its Dask scheduler" in m and "queued again" in m for m in warnings)

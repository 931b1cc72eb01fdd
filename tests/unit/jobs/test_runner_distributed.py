"""The runner on a distributed cluster: progress from the scheduler, results, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eostation.config import JobSettings, Settings
from eostation.engine.registry import default_registry
from eostation.jobs.model import JobStatus
from eostation.jobs.runner import Runner
from eostation.jobs.store import JobStore
from eostation.migrations import open_database
from tests.jobs_support import slow_graph, with_slow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _runner(tmp_path: Path, client: Any) -> Runner:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="k",
        jobs=JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05),
    )
    store = JobStore(open_database(settings.db_url))
    return Runner(settings, store, client=client, registry=with_slow(default_registry()))


def _run_in_thread(runner: Runner, graph: dict[str, Any]) -> tuple[str, threading.Thread]:
    job = runner.store.create("u", graph)
    runner.store.transition(job.id, JobStatus.QUEUED)
    thread = threading.Thread(target=runner.run_once)
    thread.start()
    return job.id, thread


def test_progress_comes_from_the_scheduler(tmp_path: Path, client: Any) -> None:
    runner = _runner(tmp_path, client)
    job_id, thread = _run_in_thread(runner, slow_graph(n=12, seconds=0.1))
    progress = []
    while thread.is_alive():
        job = runner.store.find(job_id)
        if job is not None and job.status is JobStatus.RUNNING and job.progress:
            progress.append(job.progress)
        time.sleep(0.05)
    job = runner.store.find(job_id)
    assert job is not None and job.status is JobStatus.FINISHED and job.progress == 100
    assert progress and progress == sorted(progress) and 0 < progress[0] < 100
    assert (Path(job.result_dir) / "openEO.json").read_text() == "12.0"  # type: ignore[arg-type]


def test_stop_cancels_the_futures(tmp_path: Path, client: Any) -> None:
    runner = _runner(tmp_path, client)
    job_id, thread = _run_in_thread(runner, slow_graph(n=200, seconds=0.05))
    time.sleep(0.5)
    assert runner.store.transition(job_id, JobStatus.CANCELED)
    t0 = time.monotonic()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - t0 < 3
    job = runner.store.find(job_id)
    assert job is not None and job.status is JobStatus.CANCELED and job.result_dir is None


def test_lost_scheduler_on_the_last_attempt_fails_the_job_with_a_reason(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    own = Client(cluster, timeout=2)
    try:
        runner = _runner(tmp_path, own)
        runner.settings = runner.settings.model_copy(
            update={"jobs": JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05, max_attempts=1)}
        )
        job_id, thread = _run_in_thread(runner, slow_graph(n=200, seconds=0.05))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = runner.store.find(job_id)
            if job is not None and job.progress:
                break
            time.sleep(0.05)
        cluster.close()  # the scheduler goes away mid-job
        thread.join(30)
        assert not thread.is_alive()
        job = runner.store.find(job_id)
        assert job is not None and job.status is JobStatus.ERROR and job.result_dir is None
        [entry] = runner.store.logs(job_id, min_level="error")[0]
        assert "lost its Dask scheduler" in entry.message and "not retried" in entry.message
        assert runner.run_once() is None  # claims nothing while the scheduler is gone
    finally:
        own.close()

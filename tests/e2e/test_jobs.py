"""Batch jobs end to end: a live server, runner processes and the official openeo client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openeo
import pandas as pd
import pytest
from openeo.rest import OpenEoApiError

from eostation.jobs.store import JobStore
from eostation.migrations import open_database
from tests.conftest import LiveServer
from tests.jobs_support import slow_graph

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}


def add(x: float, y: float) -> dict[str, Any]:
    return {"add": {"process_id": "add", "arguments": {"x": x, "y": y}, "result": True}}


class SlowServer:
    """A server without its own runners, plus runner processes that know the slow test process."""

    def __init__(self, base: Path) -> None:
        env = {**FAST, "EOSTATION_RUNNERS": "0"}
        self.server = LiveServer(base / "data", env=env).start()
        self.env = {**os.environ, "EOSTATION_DASK_WORKERS": "0", **env}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.url = self.server.url

    def add_worker(self) -> subprocess.Popen[bytes]:
        cmd = [
            sys.executable,
            "-m",
            "tests.jobs_support",
            "worker",
            "--data-dir",
            str(self.server.data_dir),
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stderr=subprocess.DEVNULL)
        self.workers.append(proc)
        return proc

    def store(self) -> JobStore:
        return JobStore(open_database(f"sqlite:///{self.server.data_dir / 'eostation.db'}"))

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        self.server.stop()


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowServer]:
    s = SlowServer(tmp_path_factory.mktemp("jobs"))
    s.add_worker()
    s.add_worker()
    yield s
    s.stop()


def wait_for(job: Any, predicate: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = job.describe()
        if predicate(info):
            return dict(info)
        time.sleep(0.05)
    raise AssertionError(f"timed out; last: {info}")


def test_notebook_flow(slow_server: SlowServer, tmp_path: Path) -> None:
    con = openeo.connect(slow_server.url)
    jobs = [
        con.create_job(
            {"process_graph": add(i, 10)}, title=f"job {i}", job_options={"executor-memory": "2g"}
        )
        for i in range(2)
    ]
    for job in jobs:
        job.start_and_wait(max_poll_interval=0.2, print=lambda *_: None)
    # Reconnect later, by id, on a fresh connection.
    again = openeo.connect(slow_server.url).job(jobs[1].job_id)
    info = again.describe()
    assert info["status"] == "finished" and info["progress"] == 100 and info["title"] == "job 1"
    assert info["process"]["process_graph"] == add(1, 10)
    assert info["usage"]["duration"]["unit"] == "seconds" and info["costs"] > 0
    listed = {j["id"]: j for j in con.list_jobs()}
    assert {j.job_id for j in jobs} <= set(listed)
    logs = again.logs()
    assert any("executor-memory" in e["message"] for e in logs)
    assert [e.level for e in again.logs(level="warning")] == ["warning"]
    path = again.get_results().download_file(tmp_path / "out.json")
    assert json.loads(path.read_text()) == 11
    files = jobs[0].get_results().download_files(tmp_path / "all")
    assert sorted(p.name for p in files) == ["job-results.json", "openEO.json"]

    # Stop a running job: it ends canceled (and start_and_wait-style polling returns).
    slow = con.create_job(slow_graph(n=100, seconds=0.1), title="slow")
    slow.start()
    wait_for(slow, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    slow.stop()
    assert slow.status() == "canceled"
    with pytest.raises(OpenEoApiError) as err:
        slow.get_results().get_metadata()
    assert err.value.code == "JobNotFinished"
    slow.delete()
    with pytest.raises(OpenEoApiError):
        slow.describe()


def test_runner_killed_mid_job_is_recovered(slow_server: SlowServer, tmp_path: Path) -> None:
    con = openeo.connect(slow_server.url)
    job = con.create_job(slow_graph(n=15, seconds=0.2), title="crash me")
    job.start()
    wait_for(job, lambda i: i["status"] == "running" and i.get("progress", 0) > 0)
    holder = slow_server.store().find(job.job_id).runner  # type: ignore[union-attr]
    pid = int(holder.split("/")[1])  # type: ignore[union-attr]
    assert pid in [w.pid for w in slow_server.workers]
    os.kill(pid, signal.SIGKILL)
    # Reap it, as the server's runner pool would (a zombie still looks alive).
    next(w for w in slow_server.workers if w.pid == pid).wait(10)
    # Nothing partial is served while it recovers.
    with pytest.raises(OpenEoApiError) as err:
        job.get_results().get_metadata()
    assert err.value.code == "JobNotFinished"
    slow_server.add_worker()  # the killed one is gone; keep two
    info = wait_for(job, lambda i: i["status"] in ("finished", "error"), timeout=60)
    assert info["status"] == "finished" and info["attempts"] == 2
    messages = [e["message"] for e in job.logs(level="warning")]
    assert any("interrupted" in m and "queued again" in m for m in messages)
    [asset] = job.get_results().get_assets()
    assert asset.key == "openEO.json" and asset.load_json() == 15.0
    job_dir = slow_server.server.data_dir / "jobs" / job.job_id
    assert [p.name for p in job_dir.iterdir() if p.name.startswith(".tmp")] == []


def test_multi_backend_job_manager_runs_twenty_jobs(live_server: str, tmp_path: Path) -> None:
    from openeo.extra.job_management import CsvJobDatabase, MultiBackendJobManager

    con = openeo.connect(live_server)
    df = pd.DataFrame({"x": list(range(20))})

    def start_job(row: pd.Series, connection: openeo.Connection, **_: Any) -> Any:
        return connection.create_job(
            {"process_graph": add(int(row["x"]), 100)}, title=f"x={row['x']}"
        )

    manager = MultiBackendJobManager(poll_sleep=1, root_dir=tmp_path / "out")
    manager.add_backend("local", connection=con, parallel_jobs=2)
    db = CsvJobDatabase(tmp_path / "jobs.csv").initialize_from_df(df)
    manager.run_jobs(job_db=db, start_job=start_job)
    result = pd.read_csv(tmp_path / "jobs.csv")
    assert list(result["status"]) == ["finished"] * 20
    assert (result["costs"] > 0).all() and "cpu" in result.columns
    for _, row in result.iterrows():
        [path] = (tmp_path / "out" / f"job_{row['id']}").glob("openEO.json")
        assert json.loads(path.read_text()) == row["x"] + 100


def mean_cube(con: openeo.Connection) -> Any:
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 5.0, "south": 51.2, "east": 5.02, "north": 51.22},
        temporal_extent=["2022-06-01", "2022-06-20"],
        bands=["B04"],
    )
    return cube.reduce_dimension("t", reducer="mean")


def test_execute_batch_gtiff_gives_one_file(live_server: str, tmp_path: Path) -> None:
    import numpy as np
    import rasterio

    out = tmp_path / "out.tif"
    mean_cube(openeo.connect(live_server)).execute_batch(
        out, out_format="GTiff", max_poll_interval=0.2
    )
    with rasterio.open(out) as ds:
        assert ds.count == 1 and 0 < float(np.nanmean(ds.read(1))) < 10_000


def test_execute_batch_writes_one_netcdf(live_server: str, tmp_path: Path) -> None:
    import numpy as np
    import xarray as xr

    from eostation.data.base import LoadRequest
    from eostation.data.registry import build_registry

    out = tmp_path / "out.nc"
    mean_cube(openeo.connect(live_server)).execute_batch(out, max_poll_interval=0.2)
    expected = (
        build_registry()
        .get("SENTINEL2_L2A")
        .load(
            LoadRequest(
                bbox=(5.0, 51.2, 5.02, 51.22), temporal=("2022-06-01", "2022-06-20"), bands=["B04"]
            )
        )
        .mean("t")
        .isel(bands=0)
    )
    with xr.open_dataset(out, decode_coords="all") as ds:
        assert list(ds.data_vars) == ["B04"] and ds["B04"].dims == ("y", "x")
        np.testing.assert_allclose(ds["B04"].values, expected.values, rtol=1e-6)
        np.testing.assert_allclose(ds["x"].values, expected["x"].values)
        assert 0 < float(ds["B04"].mean()) < 10_000

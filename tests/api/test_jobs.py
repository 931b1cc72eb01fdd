"""Batch jobs through the API (TestClient) with an in-process runner on a real SQLite file."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import build_services, create_app
from eostation.config import JobSettings, Settings
from eostation.jobs.runner import Runner
from eostation.jobs.store import utcnow
from tests.conftest import shared_path
from tests.openapi_check import load_spec, validate

API = "/openeo/1.2"


def graph(process_id: str = "add", **arguments: Any) -> dict[str, Any]:
    args = arguments or {"x": 1, "y": 2}
    return {"process_graph": {"n1": {"process_id": process_id, "arguments": args, "result": True}}}


@pytest.fixture
def spec() -> Any:
    """The openEO API document; a test that checks responses against it skips without it."""
    return load_spec(shared_path("specs", "openeo-api", "openapi.yaml"))


def check(spec: Any, response: Any) -> None:
    validate(spec, response)


class Harness:
    """An app plus (optionally) a runner thread on the same database."""

    def __init__(self, settings: Settings, with_runner: bool) -> None:
        self.services = build_services(settings)
        self.client = TestClient(create_app(settings, self.services))
        self.runner = Runner(
            settings,
            self.services.jobs.store,
            registry=self.services.processes,
            collections=self.services.collections,
            formats=self.services.formats,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.runner.run_forever, args=(self.stop,))
        if with_runner:
            self.thread.start()

    def create(self, body: dict[str, Any] | None = None, **extra: Any) -> str:
        r = self.client.post(API + "/jobs", json={"process": graph(), **(body or {}), **extra})
        assert r.status_code == 201, r.text
        return r.headers["OpenEO-Identifier"]

    def wait(
        self, job_id: str, statuses: tuple[str, ...] = ("finished", "error", "canceled")
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = self.client.get(f"{API}/jobs/{job_id}").json()
            if body["status"] in statuses:
                return body
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} stuck in {body['status']}")

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.client.close()


@pytest.fixture
def harness(settings: Settings) -> Iterator[Harness]:
    settings = settings.model_copy(
        update={"jobs": JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05)}
    )
    h = Harness(settings, with_runner=True)
    yield h
    h.close()


@pytest.fixture
def idle(settings: Settings) -> Iterator[Harness]:
    """No runner: jobs stay queued."""
    h = Harness(settings, with_runner=False)
    yield h
    h.close()


def test_a_poll_copies_a_big_process_graph_in_as_stored(idle: Harness, spec: Any) -> None:
    """``GET /jobs/{id}`` splices the stored JSON text in: the graph must come back whole."""
    nodes: dict[str, Any] = {"n0": {"process_id": "add", "arguments": {"x": 1, "y": 2}}}
    for i in range(1, 2000):
        x = {"from_node": f"n{i - 1}"}
        nodes[f"n{i}"] = {"process_id": "add", "arguments": {"x": x, "y": 0.5}}
    nodes["n1999"]["result"] = True
    body = {"process": {"process_graph": nodes}, "title": "Ölmühle « 2000 »"}
    created = idle.client.post(API + "/jobs", json=body)
    assert created.status_code == 201
    answer = idle.client.get(f"{API}/jobs/{created.headers['OpenEO-Identifier']}")
    check(spec, answer)
    assert answer.headers["content-type"] == "application/json"
    doc = answer.json()
    assert doc["process"] == body["process"] and doc["title"] == body["title"]
    assert doc["status"] == "created" and doc["links"][0]["rel"] == "monitor"


def test_create_describe_and_list(idle: Harness, spec: Any) -> None:
    c = idle.client
    r = c.post(
        API + "/jobs",
        json={
            "process": graph(),
            "title": "sum",
            "description": "d",
            "budget": 5,
            "log_level": "warning",
        },
    )
    check(spec, r)
    assert r.status_code == 201
    job_id = r.headers["OpenEO-Identifier"]
    assert r.headers["Location"] == f"http://testserver{API}/jobs/{job_id}"
    d = c.get(f"{API}/jobs/{job_id}")
    check(spec, d)
    body = d.json()
    assert body["status"] == "created" and body["title"] == "sum" and body["budget"] == 5
    assert body["process"] == graph() and body["log_level"] == "warning"
    listing = c.get(API + "/jobs")
    check(spec, listing)
    assert [j["id"] for j in listing.json()["jobs"]] == [job_id]
    assert "process" not in listing.json()["jobs"][0]


def test_list_is_paged_with_a_next_link(idle: Harness, spec: Any) -> None:
    ids = [idle.create(title=str(i)) for i in range(5)]
    page = idle.client.get(API + "/jobs", params={"limit": 2})
    check(spec, page)
    seen = [j["id"] for j in page.json()["jobs"]]
    while nxt := [link for link in page.json()["links"] if link["rel"] == "next"]:
        page = idle.client.get(nxt[0]["href"])
        seen += [j["id"] for j in page.json()["jobs"]]
    assert seen == ids[::-1]


def test_invalid_bodies_give_openeo_errors(idle: Harness) -> None:
    c = idle.client
    assert c.post(API + "/jobs", json={"title": "x"}).json()["code"] == "ProcessGraphMissing"
    r = c.post(API + "/jobs", json={"process": graph(), "budget": -1})
    assert r.status_code == 400 and r.json()["code"] == "BudgetInvalid"
    assert (
        c.post(API + "/jobs", json={"process": graph(), "plan": "gold"}).json()["code"]
        == "BillingPlanInvalid"
    )
    r = c.get(API + "/jobs/j-nope")
    assert r.status_code == 404 and r.json()["code"] == "JobNotFound"


def test_patch_and_lock(idle: Harness) -> None:
    c = idle.client
    job_id = idle.create()
    r = c.patch(f"{API}/jobs/{job_id}", json={"title": "renamed", "process": graph(x=5, y=5)})
    assert r.status_code == 204 and r.content == b""
    body = c.get(f"{API}/jobs/{job_id}").json()
    assert body["title"] == "renamed" and body["process"] == graph(x=5, y=5)
    assert c.patch(f"{API}/jobs/{job_id}", json={}).json()["code"] == "NoDataForUpdate"
    assert c.post(f"{API}/jobs/{job_id}/results").status_code == 202
    r = c.patch(f"{API}/jobs/{job_id}", json={"title": "again"})
    assert r.status_code == 400 and r.json()["code"] == "JobLocked"


def test_unknown_job_options_warn_in_the_log(idle: Harness, spec: Any) -> None:
    job_id = idle.create(job_options={"executor-memory": "4g"})
    logs = idle.client.get(f"{API}/jobs/{job_id}/logs")
    check(spec, logs)
    [entry] = logs.json()["logs"]
    assert entry["level"] == "warning" and "executor-memory" in entry["message"]


def test_stop_a_queued_job_ends_canceled_and_restart_is_allowed(idle: Harness) -> None:
    c = idle.client
    job_id = idle.create()
    c.post(f"{API}/jobs/{job_id}/results")
    body = c.get(f"{API}/jobs/{job_id}").json()
    assert body["status"] == "queued" and body["queue_position"] == 1 and body["progress"] == 0
    assert c.delete(f"{API}/jobs/{job_id}/results").status_code == 204
    assert c.get(f"{API}/jobs/{job_id}").json()["status"] == "canceled"
    r = c.get(f"{API}/jobs/{job_id}/results")
    assert r.status_code == 400 and r.json()["code"] == "JobNotFinished"
    assert c.post(f"{API}/jobs/{job_id}/results").status_code == 202
    assert c.get(f"{API}/jobs/{job_id}").json()["status"] == "queued"


def test_run_to_finished_with_results_logs_usage_and_costs(harness: Harness, spec: Any) -> None:
    c = harness.client
    job_id = harness.create(title="add")
    assert c.post(f"{API}/jobs/{job_id}/results").status_code == 202
    body = harness.wait(job_id)
    check(spec, c.get(f"{API}/jobs/{job_id}"))
    assert body["status"] == "finished" and body["progress"] == 100
    assert body["started"] <= body["finished"] and isinstance(body["costs"], float)
    usage = body["usage"]
    assert usage["duration"]["unit"] == "seconds" and usage["duration"]["value"] > 0
    assert usage["storage"]["value"] == 1  # "3"
    assert {"cpu", "memory", "input_pixels"} <= set(usage)

    res = c.get(f"{API}/jobs/{job_id}/results")
    check(spec, res)
    doc = res.json()
    assert doc["type"] == "Collection" and doc["openeo:status"] == "finished"
    [(name, asset)] = doc["assets"].items()
    assert name == "openEO.json" and asset["type"] == "application/json"
    assert asset["roles"] == ["data"] and asset["file:size"] == 1

    anonymous = TestClient(harness.client.app)
    got = anonymous.get(asset["href"])
    assert got.status_code == 200 and got.json() == 3
    expired_token = {"Authorization": "Bearer basic//expired.token.value"}
    assert anonymous.get(asset["href"], headers=expired_token).json() == 3
    head = anonymous.head(asset["href"])
    assert head.headers["accept-ranges"] == "bytes" and head.headers["content-length"] == "1"
    ranged = anonymous.get(asset["href"], headers={"Range": "bytes=0-0"})
    assert ranged.status_code == 206 and ranged.content == b"3"
    tampered = asset["href"].replace("openEO.json", "other.json")
    assert anonymous.get(tampered).status_code == 404

    logs = c.get(f"{API}/jobs/{job_id}/logs").json()["logs"]
    messages = " | ".join(e["message"] for e in logs)
    assert "Inputs resolved" in messages and "Wrote openEO.json" in messages
    assert "Job finished" in messages
    after = c.get(f"{API}/jobs/{job_id}/logs", params={"offset": logs[1]["id"]}).json()["logs"]
    assert [e["id"] for e in after] == [e["id"] for e in logs[2:]]


@pytest.mark.slow
def test_expired_link_gives_410(harness: Harness) -> None:
    job_id = harness.create()
    harness.client.post(f"{API}/jobs/{job_id}/results")
    harness.wait(job_id)
    jobs = harness.services.jobs
    job = jobs.get("local", job_id)
    sign = jobs.link_signer(job, now=time.time() - 10 * jobs.signer.ttl_seconds)
    expires, sig = sign("openEO.json")
    r = harness.client.get(f"{API}/jobs/{job_id}/results/{expires}/{sig}/openEO.json")
    assert r.status_code == 410 and r.json()["code"] == "ResultLinkExpired"


def test_failing_node_is_named_in_one_error_entry(harness: Harness) -> None:
    c = harness.client
    job_id = harness.create({"process": graph("no_such_process", x=1)})
    c.post(f"{API}/jobs/{job_id}/results")
    assert harness.wait(job_id)["status"] == "error"
    errors = c.get(f"{API}/jobs/{job_id}/logs", params={"level": "error"}).json()
    assert errors["level"] == "error"
    [entry] = errors["logs"]
    assert "n1" in entry["message"] and "no_such_process" in entry["message"]
    assert entry["path"] == [{"node_id": "n1", "process_id": "no_such_process"}]
    assert "GET /processes" in entry["message"]
    r = c.get(f"{API}/jobs/{job_id}/results")
    assert r.json()["code"] == "JobNotFinished" and "no_such_process" in r.json()["message"]


def test_budget_stops_the_job_with_a_clear_log(harness: Harness) -> None:
    job_id = harness.create(budget=0)
    harness.client.post(f"{API}/jobs/{job_id}/results")
    assert harness.wait(job_id)["status"] == "error"
    [entry] = harness.client.get(f"{API}/jobs/{job_id}/logs", params={"level": "error"}).json()[
        "logs"
    ]
    assert entry["code"] == "BudgetExceeded" and "budget of 0.0 credits" in entry["message"]


def test_estimate_predicts_costs_duration_and_size(idle: Harness, spec: Any) -> None:
    job_id = idle.create()
    r = idle.client.get(f"{API}/jobs/{job_id}/estimate")
    check(spec, r)
    body = r.json()
    assert body["costs"] >= 0.01 and body["duration"].startswith("PT") and body["size"] > 0


def test_estimates_and_validations_run_in_a_worker_process(idle: Harness) -> None:
    job_id = idle.create()
    r = idle.client.get(f"{API}/jobs/{job_id}/estimate")
    assert r.status_code == 200 and r.json()["size"] > 0
    [worker] = idle.services.heavy.graphs.pids()
    assert worker != os.getpid() and Path(f"/proc/{worker}").exists()
    # The same worker validates: an unknown process is reported, with its node.
    bad = {"process_graph": {"x": {"process_id": "nope", "arguments": {}, "result": True}}}
    r = idle.client.post(f"{API}/validation", json=bad)
    assert [e["code"] for e in r.json()["errors"]] == ["ProcessUnsupported"]
    assert idle.services.heavy.graphs.pids() == [worker]
    # An estimate of someone else's job is refused before any worker sees it.
    other = idle.client.get(f"{API}/jobs/j-nope/estimate")
    assert (other.status_code, other.json()["code"]) == (404, "JobNotFound")


def test_estimate_never_runs_a_udf_when_udfs_are_off(settings: Settings, tmp_path: Any) -> None:
    marker = tmp_path / "udf-ran"
    code = f"def apply_udf_data(data):\n    open({str(marker)!r}, 'w').write('ran')\n"
    udf = {"process_id": "run_udf", "arguments": {"data": [1, 2], "udf": code, "runtime": "Python"}}
    h = Harness(settings.model_copy(update={"udf": "off"}), with_runner=False)
    try:
        job_id = h.create({"process": {"process_graph": {"u": {**udf, "result": True}}}})
        r = h.client.get(f"{API}/jobs/{job_id}/estimate")
        assert r.status_code >= 400 and "disabled" in r.json()["message"]
        assert not marker.exists()
    finally:
        h.close()


def test_storage_quota(settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "jobs": JobSettings(storage_quota_bytes=1, heartbeat_seconds=0.1, poll_seconds=0.05)
        }
    )
    h = Harness(settings, with_runner=True)
    try:
        first = h.create()
        h.client.post(f"{API}/jobs/{first}/results")
        h.wait(first)
        second = h.create()
        r = h.client.post(f"{API}/jobs/{second}/results")
        assert r.status_code == 400 and r.json()["code"] == "StorageQuotaExceeded"
        # Restarting the job that holds the storage is fine: its results are replaced.
        assert h.client.post(f"{API}/jobs/{first}/results").status_code == 202
    finally:
        h.close()


def test_results_expire_after_the_retention_period(harness: Harness) -> None:
    job_id = harness.create()
    harness.client.post(f"{API}/jobs/{job_id}/results")
    harness.wait(job_id)
    store = harness.services.jobs.store
    result_dir = store.find(job_id).result_dir  # type: ignore[union-attr]
    store.transition(job_id, store.find(job_id).status)  # no-op guard: status unchanged
    with store._engine.begin() as conn:  # age the results
        from eostation.jobs.tables import jobs

        conn.execute(
            jobs.update().where(jobs.c.id == job_id).values(finished=utcnow() - timedelta(days=40))
        )
    assert harness.runner.expire_results() == 1
    r = harness.client.get(f"{API}/jobs/{job_id}/results")
    assert r.status_code == 410 and "retention period of 30 days" in r.json()["message"]
    from pathlib import Path

    assert not Path(result_dir).exists()  # type: ignore[arg-type]


def test_delete_job_removes_files(harness: Harness) -> None:
    job_id = harness.create()
    harness.client.post(f"{API}/jobs/{job_id}/results")
    harness.wait(job_id)
    job_dir = harness.services.jobs.layout.job_dir(job_id)
    assert job_dir.exists()
    assert harness.client.delete(f"{API}/jobs/{job_id}").status_code == 204
    assert not job_dir.exists()
    assert harness.client.get(f"{API}/jobs/{job_id}").status_code == 404


def test_capabilities_list_the_job_endpoints(idle: Harness) -> None:
    listed = {e["path"]: e["methods"] for e in idle.client.get(API + "/").json()["endpoints"]}
    assert listed["/jobs"] == ["GET", "POST"]
    assert listed["/jobs/{job_id}"] == ["DELETE", "GET", "PATCH"]
    assert listed["/jobs/{job_id}/results"] == ["DELETE", "GET", "POST"]
    assert listed["/jobs/{job_id}/logs"] == ["GET"] and listed["/jobs/{job_id}/estimate"] == ["GET"]
    assert not any("signature" in p for p in listed)


def test_progress_moves_and_stop_cancels_the_dask_work(harness: Harness) -> None:
    from tests.jobs_support import slow_graph, with_slow

    with_slow(harness.services.processes)
    c = harness.client
    job_id = harness.create({"process": slow_graph(n=40, seconds=0.1)})
    c.post(f"{API}/jobs/{job_id}/results")
    seen: list[float] = []
    updated: set[str] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = c.get(f"{API}/jobs/{job_id}").json()
        if body["status"] == "running":
            seen.append(body["progress"])
            updated.add(body["updated"])
            if body["progress"] >= 20:
                break
        time.sleep(0.05)
    assert seen == sorted(seen) and 0 < seen[-1] < 100 and len(updated) > 1
    t0 = time.monotonic()
    assert c.delete(f"{API}/jobs/{job_id}/results").status_code == 204
    assert c.get(f"{API}/jobs/{job_id}").json()["status"] == "canceled"
    # The runner notices at its next heartbeat and drops the work: it is free again soon.
    nxt = harness.create()
    c.post(f"{API}/jobs/{nxt}/results")
    assert harness.wait(nxt)["status"] == "finished"
    assert time.monotonic() - t0 < 3
    final = c.get(f"{API}/jobs/{job_id}").json()
    assert final["status"] == "canceled" and final["progress"] < 100
    assert c.get(f"{API}/jobs/{job_id}/results").json()["code"] == "JobNotFinished"
    assert list(harness.services.jobs.layout.job_dir(job_id).iterdir()) == []


def test_progress_keeps_moving_through_one_long_compute_of_fused_tasks(
    harness: Harness,
) -> None:
    from tests.jobs_support import slow_graph, with_slow

    with_slow(harness.services.processes)
    c = harness.client
    # One compute of several seconds whose element-wise steps dask fuses: 240 tasks built,
    # about 80 run. Counted against the graph built, progress stopped near a third.
    job_id = harness.create({"process": slow_graph(n=40, seconds=0.1, steps=4)})
    c.post(f"{API}/jobs/{job_id}/results")
    seen: list[float] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = c.get(f"{API}/jobs/{job_id}").json()
        if body["status"] != "running" and seen:
            break
        if body["status"] == "running":
            seen.append(body["progress"])
        time.sleep(0.05)
    assert body["status"] == "finished" and body["progress"] == 100
    intermediate = sorted({p for p in seen if 0 < p < 100})
    assert len(intermediate) >= 2, seen
    assert intermediate[-1] > 50, seen
    assert seen == sorted(seen)


def test_jobs_of_a_dead_runner_are_requeued_then_failed(idle: Harness) -> None:
    store = idle.services.jobs.store
    runner = idle.runner
    dead = "otherhost/1/dead"
    job_id = idle.create()
    idle.client.post(f"{API}/jobs/{job_id}/results")
    for attempt in range(1, 4):
        claimed = store.claim(dead, 2)
        assert claimed is not None and claimed.attempts == attempt
        stale_dir = runner.layout.new_tmp(job_id)  # a half-written run
        (stale_dir / "partial.tif").write_bytes(b"xx")
        assert runner.recover() == []  # heartbeat is fresh: nothing to do yet
        with store._engine.begin() as conn:
            from eostation.jobs.tables import jobs

            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(heartbeat=utcnow() - timedelta(minutes=5))
            )
        assert runner.recover() == [job_id]
        assert not stale_dir.exists()
        expected = "queued" if attempt < 3 else "error"
        assert store.find(job_id).status.value == expected  # type: ignore[union-attr]
    logs = idle.client.get(f"{API}/jobs/{job_id}/logs").json()["logs"]
    assert [e["code"] for e in logs if e.get("code") in ("JobRequeued", "JobInterrupted")] == [
        "JobRequeued",
        "JobRequeued",
        "JobInterrupted",
    ]
    assert "interrupted 3 times" in logs[-1]["message"] and logs[-1]["level"] == "error"


def test_a_job_of_a_vanished_local_process_is_requeued_at_once(idle: Harness) -> None:
    import socket
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = f"{socket.gethostname()}/{proc.stdout.strip()}/x"
    job_id = idle.create()
    idle.client.post(f"{API}/jobs/{job_id}/results")
    assert idle.services.jobs.store.claim(gone, 2) is not None
    assert idle.runner.recover() == [job_id]
    assert idle.services.jobs.store.find(job_id).status.value == "queued"  # type: ignore[union-attr]


def cube_graph(fmt: str) -> dict[str, Any]:
    return {
        "process_graph": {
            "load": {
                "process_id": "load_collection",
                "arguments": {
                    "id": "SENTINEL2_L2A",
                    "spatial_extent": {"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21},
                    "temporal_extent": ["2022-06-01", "2022-06-15"],
                    "bands": ["B04", "B08"],
                },
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "load"}, "format": fmt},
                "result": True,
            },
        }
    }


@pytest.mark.parametrize(
    "fmt",
    [
        "GTiff",
        "netCDF",
    ],
)
def test_cube_job_writes_files_per_format(harness: Harness, fmt: str, tmp_path: Any) -> None:
    import rasterio
    import xarray as xr

    c = harness.client
    job_id = harness.create({"process": cube_graph(fmt)})
    c.post(f"{API}/jobs/{job_id}/results")
    body = harness.wait(job_id)
    assert body["status"] == "finished", c.get(f"{API}/jobs/{job_id}/logs").json()
    assert body["usage"]["input_pixels"]["value"] > 0
    assets = c.get(f"{API}/jobs/{job_id}/results").json()["assets"]
    assert "job-results.json" not in assets
    if fmt == "GTiff":
        assert len(assets) >= 2
        for name, asset in assets.items():
            assert name.startswith("openEO_2022-06-") and name.endswith("Z.tif")
            target = tmp_path / name
            target.write_bytes(TestClient(c.app).get(asset["href"]).content)
            with rasterio.open(target) as ds:
                assert ds.count == 2 and ds.read(1).size > 0
    else:
        [(name, asset)] = assets.items()
        assert name.endswith(".nc")
        target = tmp_path / name
        target.write_bytes(TestClient(c.app).get(asset["href"]).content)
        with xr.open_dataset(target) as ds:
            assert ds.sizes["t"] >= 2

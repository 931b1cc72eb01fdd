"""Small leaks: queue position privacy, signed links after re-run or account removal,
UDP metadata validation, result directories orphaned by a crash while publishing."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import build_services, create_app
from eostation.api.deps import Services
from eostation.config import JobSettings, Settings
from eostation.jobs.model import JobStatus
from eostation.jobs.runner import Runner
from eostation.jobs.store import utcnow
from eostation.jobs.tables import jobs
from tests.conftest import seed_database

API = "/openeo/1.2"
GRAPH = {
    "process_graph": {"n1": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
}


class Server:
    """App + password users alice and bob + (optionally) a runner thread, one SQLite file."""

    def __init__(self, settings: Settings, *, runner: bool) -> None:
        self.services: Services = build_services(settings)
        self.services.users.add("alice", "a-pw")
        self.services.users.add("bob", "b-pw")
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
        if runner:
            self.thread.start()

    def login(self, user: str, password: str) -> dict[str, str]:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        r = self.client.get(f"{API}/credentials/basic", headers={"Authorization": f"Basic {basic}"})
        return {"Authorization": f"Bearer basic//{r.json()['access_token']}"}

    def queued_job(self, auth: dict[str, str]) -> str:
        r = self.client.post(f"{API}/jobs", json={"process": GRAPH}, headers=auth)
        job_id = r.headers["OpenEO-Identifier"]
        assert self.client.post(f"{API}/jobs/{job_id}/results", headers=auth).status_code == 202
        return job_id

    def finished(self, job_id: str, auth: dict[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = self.client.get(f"{API}/jobs/{job_id}", headers=auth).json()
            if body["status"] == "finished":
                return dict(body)
            assert body["status"] in ("queued", "running"), body
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")

    def asset_href(self, job_id: str, auth: dict[str, str]) -> str:
        assets = self.client.get(f"{API}/jobs/{job_id}/results", headers=auth).json()["assets"]
        [asset] = assets.values()
        return str(asset["href"]).removeprefix("http://testserver")

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.client.close()


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    seed_database(tmp_path / "data", migrated_database)
    return Settings(
        allowed_hosts=["testserver"],
        data_dir=tmp_path / "data",
        dask_workers=0,
        secret_key="s",
        jobs=JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05, stale_after_seconds=5),
    )


@pytest.fixture
def idle(settings: Settings) -> Iterator[Server]:
    server = Server(settings, runner=False)
    yield server
    server.close()


@pytest.fixture
def running(settings: Settings) -> Iterator[Server]:
    server = Server(settings, runner=True)
    yield server
    server.close()


def test_queue_position_counts_only_your_own_jobs(idle: Server) -> None:
    alice, bob = idle.login("alice", "a-pw"), idle.login("bob", "b-pw")
    bobs = [idle.queued_job(bob) for _ in range(3)]
    first, second = idle.queued_job(alice), idle.queued_job(alice)

    def position(job_id: str, auth: dict[str, str]) -> int:
        return int(idle.client.get(f"{API}/jobs/{job_id}", headers=auth).json()["queue_position"])

    # Three of Bob's jobs were queued earlier; Alice must not learn that.
    assert position(first, alice) == 1 and position(second, alice) == 2
    assert [position(j, bob) for j in bobs] == [1, 2, 3]


def test_signed_link_dies_when_the_job_is_run_again(running: Server) -> None:
    alice = running.login("alice", "a-pw")
    job_id = running.queued_job(alice)
    running.finished(job_id, alice)
    old = running.asset_href(job_id, alice)
    assert running.client.get(old).status_code == 200
    assert running.client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    running.finished(job_id, alice)
    new = running.asset_href(job_id, alice)
    assert new != old and running.client.get(new).status_code == 200
    r = running.client.get(old)
    assert r.status_code == 404 and r.json()["code"] == "FileNotFound"


@pytest.mark.slow
def test_signed_link_dies_with_the_account(running: Server) -> None:
    alice, bob = running.login("alice", "a-pw"), running.login("bob", "b-pw")
    mine, his = running.queued_job(alice), running.queued_job(bob)
    running.finished(mine, alice)
    running.finished(his, bob)
    link, bobs_link = running.asset_href(mine, alice), running.asset_href(his, bob)
    assert running.client.get(link).json() == 3
    assert running.services.users.remove("alice")
    r = running.client.get(link)
    assert r.status_code == 404 and r.json()["code"] == "FileNotFound"
    assert running.client.get(bobs_link).status_code == 200
    # Re-creating the account (new password hash) does not revive the old link.
    running.services.users.add("alice", "a-pw")
    assert running.client.get(link).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"parameters": "x"}, ("'parameters' must be a list",)),
        ({"parameters": [{"name": "a b", "schema": {}}]}, ("parameters[0].name",)),
        ({"parameters": [{"name": 5}]}, ("parameters[0].name",)),
        ({"parameters": [{"name": "x"}, {"name": "x"}]}, ("declared twice",)),
        ({"parameters": [{"name": "x", "schema": "number"}]}, ("parameters[0].schema",)),
        ({"parameters": [{"name": "x", "optional": "yes"}]}, ("parameters[0].optional",)),
        ({"returns": "number"}, ("'returns' must be an object",)),
        ({"returns": {"schema": 1}}, ("returns.schema",)),
        ({"summary": 5}, ("'summary' must be a string",)),
        ({"categories": "math"}, ("'categories'",)),
        ({"links": [{"rel": "about"}]}, ("'links'", "href")),
    ],
)
def test_invalid_udp_metadata_is_400(idle: Server, body: dict[str, Any], words: tuple[str]) -> None:
    alice = idle.login("alice", "a-pw")
    r = idle.client.put(f"{API}/process_graphs/my_udp", json={**GRAPH, **body}, headers=alice)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "RequestInvalid"
    for word in words:
        assert word in r.json()["message"]
    assert idle.client.get(f"{API}/process_graphs", headers=alice).json()["processes"] == []


def test_valid_udp_metadata_is_stored(idle: Server) -> None:
    alice = idle.login("alice", "a-pw")
    body = {
        **GRAPH,
        "id": "my_udp",
        "summary": "s",
        "categories": ["math"],
        "parameters": [
            {"name": "x", "description": "d", "schema": {"type": "number"}, "optional": True}
        ],
        "returns": {"schema": [{"type": "number"}]},
        "links": [{"href": "https://example.org", "rel": "about"}],
    }
    r = idle.client.put(f"{API}/process_graphs/my_udp", json=body, headers=alice)
    assert r.status_code == 200, r.text
    stored = idle.client.get(f"{API}/process_graphs/my_udp", headers=alice).json()
    assert stored["parameters"] == body["parameters"] and stored["returns"] == body["returns"]


def test_recovery_removes_a_result_dir_published_but_never_recorded(idle: Server) -> None:
    store, layout = idle.services.jobs.store, idle.runner.layout
    job = store.create("alice", GRAPH)
    store.transition(job.id, JobStatus.QUEUED)
    claimed = store.claim("otherhost/1/dead", 2)
    assert claimed is not None and claimed.id == job.id
    # The dead runner wrote its files and renamed the directory into place, then crashed
    # before recording it in the job row.
    tmp = layout.new_tmp(job.id)
    (tmp / "out.tif").write_bytes(b"\0" * 100_000)
    published = layout.publish(tmp, {"job_id": job.id})
    leftover = layout.new_tmp(job.id)
    with store.engine.begin() as conn:  # its last heartbeat was an hour ago
        conn.execute(
            jobs.update().where(jobs.c.id == job.id).values(heartbeat=utcnow() - timedelta(hours=1))
        )
    assert published.is_dir() and leftover.is_dir()
    assert idle.runner.recover() == [job.id]
    assert not published.exists() and not leftover.exists()
    assert store.get("alice", job.id).status is JobStatus.QUEUED


def test_recovery_keeps_the_recorded_results(running: Server) -> None:
    alice = running.login("alice", "a-pw")
    job_id = running.queued_job(alice)
    running.finished(job_id, alice)
    job = running.services.jobs.store.get("alice", job_id)
    assert job.result_dir is not None
    removed = running.runner.layout.clean_unpublished(job_id, keep=job.result_dir)
    assert removed == [] and Path(job.result_dir).is_dir()
    link = running.asset_href(job_id, alice)
    assert running.client.get(link).json() == 3

"""Rate limits: 429 TooManyRequests with Retry-After on logins, job creation, sync processing."""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openeo
import pytest
from fastapi.testclient import TestClient

from eostation.api.app import build_services, create_app
from eostation.api.ratelimit import TokenBuckets
from eostation.config import RateLimitSettings, Settings
from tests.conftest import LiveServer, seed_database

API = "/openeo/1.2"
GRAPH = {
    "process_graph": {"n1": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def make_api(tmp_path: Path, migrated_database: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**limits: Any) -> TestClient:
        seed_database(tmp_path / f"data{len(clients)}", migrated_database)
        settings = Settings(
            allowed_hosts=["testserver"],
            data_dir=tmp_path / f"data{len(clients)}",
            dask_workers=0,
            secret_key="s",
            rate_limits=RateLimitSettings(**limits),
        )
        services = build_services(settings)
        services.users.add("alice", "a-pw")
        services.users.add("bob", "b-pw")
        client = TestClient(create_app(settings, services)).__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def token(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.get(f"{API}/credentials/basic", headers=basic(user, password))
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer basic//{r.json()['access_token']}"}


def assert_429(response: Any, *words: str) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == "TooManyRequests" and set(body) >= {"id", "message", "links"}
    for word in words:
        assert word in body["message"], body["message"]
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(per_minute=60)  # one token per second, burst of 60
    assert all(buckets.take("k", now=100.0) == 0 for _ in range(60))
    assert buckets.take("k", now=100.0) == pytest.approx(1.0)
    assert buckets.take("k", now=100.5) == pytest.approx(0.5)
    assert buckets.take("k", now=101.6) == 0  # refilled 1.1 tokens since 100.5
    assert buckets.take("other", now=100.0) == 0
    assert TokenBuckets(per_minute=0).take("k") == 0  # 0 switches the limit off


def test_job_creation_limit_per_user(make_api: Any) -> None:
    api = make_api(jobs_per_minute=3)
    alice, bob = token(api, "alice", "a-pw"), token(api, "bob", "b-pw")
    for _ in range(3):
        assert api.post(f"{API}/jobs", json={"process": GRAPH}, headers=alice).status_code == 201
    r = api.post(f"{API}/jobs", json={"process": GRAPH}, headers=alice)
    retry_after = assert_429(r, "batch jobs created", "3 per minute")
    assert retry_after <= 20  # one token comes back every 20 s
    assert len(api.get(f"{API}/jobs", headers=alice).json()["jobs"]) == 3
    # Bob shares the address (its limit is twice the user limit) but has his own budget.
    assert api.post(f"{API}/jobs", json={"process": GRAPH}, headers=bob).status_code == 201


def test_sync_processing_limit(make_api: Any) -> None:
    api = make_api(sync_per_minute=2)
    alice = token(api, "alice", "a-pw")
    for _ in range(2):
        assert api.post(f"{API}/result", json={"process": GRAPH}, headers=alice).status_code == 200
    assert_429(api.post(f"{API}/result", json={"process": GRAPH}, headers=alice), "synchronous")


@pytest.mark.slow
def test_failed_logins_back_off_per_account(make_api: Any) -> None:
    api = make_api(login_failures=3)
    for _ in range(3):
        r = api.get(f"{API}/credentials/basic", headers=basic("alice", "wrong"))
        assert r.status_code == 403 and r.json()["code"] == "CredentialsInvalid"
    # Even the right password waits now: the back-off is per account, not per password.
    r = api.get(f"{API}/credentials/basic", headers=basic("alice", "a-pw"))
    assert assert_429(r, "failed logins for account 'alice'") == 1
    token(api, "bob", "b-pw")  # other accounts are not affected
    time.sleep(1.05)
    r = api.get(f"{API}/credentials/basic", headers=basic("alice", "wrong"))
    assert r.status_code == 403
    # The fourth failure doubles the wait.
    r = api.get(f"{API}/credentials/basic", headers=basic("alice", "a-pw"))
    assert assert_429(r) == 2
    time.sleep(2.05)
    token(api, "alice", "a-pw")  # success resets the count
    r = api.get(f"{API}/credentials/basic", headers=basic("alice", "wrong"))
    assert r.status_code == 403


def test_logins_per_ip(make_api: Any) -> None:
    api = make_api(logins_per_minute=4, login_failures=0)
    started = time.monotonic()
    for i in range(4):
        r = api.get(f"{API}/credentials/basic", headers=basic(f"nobody{i}", "x"))
        assert r.status_code == 403
    r = api.get(f"{API}/credentials/basic", headers=basic("alice", "a-pw"))
    # The next slot opens 60/4 = 15 s after the first login: less what a busy machine spent.
    waited = math.ceil(time.monotonic() - started)
    assert 15 - waited <= assert_429(r, "logins from") <= 15


def test_defaults_let_a_50_job_run_through(make_api: Any) -> None:
    api = make_api()
    alice = token(api, "alice", "a-pw")
    codes = {
        api.post(f"{API}/jobs", json={"process": GRAPH}, headers=alice).status_code
        for _ in range(60)
    }
    assert codes == {201}


@pytest.mark.e2e
def test_official_client_waits_for_retry_after(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "data",
        env={
            "EOSTATION_RATE_LIMITS__LOGIN_FAILURES": "2",
            "EOSTATION_SECRET_KEY": "s",
        },
    )
    server.data_dir.mkdir(parents=True)
    server.users("add", "alice", "--password", "a-pw")
    server.start()
    try:
        for _ in range(2):
            with pytest.raises(openeo.rest.OpenEoApiError) as failed:
                openeo.connect(server.url).authenticate_basic("alice", "wrong")
            assert failed.value.code == "CredentialsInvalid"
        t0 = time.monotonic()
        # 429 with Retry-After: 1; urllib3's Retry (the client's default session) waits
        # that long instead of retrying at once, and the retry gets through.
        con = openeo.connect(server.url).authenticate_basic("alice", "a-pw")
        elapsed = time.monotonic() - t0
        assert con.describe_account()["user_id"] == "alice"
        assert 0.9 < elapsed < 10
    finally:
        server.stop()

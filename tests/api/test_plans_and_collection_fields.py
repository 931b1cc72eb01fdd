"""Billing plans are case-insensitive and checked alike for jobs and sync requests;
collection documents carry no field whose extension they do not declare."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

API = "/openeo/1.2"
ADD = {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}}
VERSION_EXTENSION = "https://stac-extensions.github.io/version/"


@pytest.mark.parametrize("plan", ["local", "LOCAL", "Local"])
def test_plans_match_case_insensitively(client: TestClient, plan: str) -> None:
    r = client.post(API + "/jobs", json={"process": ADD, "plan": plan})
    assert r.status_code == 201, r.text
    job = client.get(API + f"/jobs/{r.headers['OpenEO-Identifier']}").json()
    assert job["plan"] == "local"
    sync = client.post(API + "/result", json={"process": ADD, "plan": plan})
    assert sync.status_code == 200 and sync.json() == 3


def test_listed_plans_include_free_and_are_all_accepted(client: TestClient) -> None:
    """The official test suite's payloads ask for ``free``; every listed plan is usable."""
    billing = client.get(API + "/").json()["billing"]
    names = [p["name"] for p in billing["plans"]]
    assert names == ["local", "free"] and billing["default_plan"] == "local"
    assert all(p["paid"] is False and p["description"] for p in billing["plans"])
    for name in names:
        r = client.post(API + "/jobs", json={"process": ADD, "plan": name, "budget": 100})
        assert r.status_code == 201, r.text
        job = client.get(API + f"/jobs/{r.headers['OpenEO-Identifier']}").json()
        assert job["plan"] == name
        sync = client.post(API + "/result", json={"process": ADD, "plan": name})
        assert sync.status_code == 200 and sync.json() == 3


def test_unknown_plan_is_refused_by_jobs_and_result_alike(client: TestClient) -> None:
    body = {"process": ADD, "plan": "premium"}
    batch = client.post(API + "/jobs", json=body)
    sync = client.post(API + "/result", json=body)
    for r in (batch, sync):
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "BillingPlanInvalid"
        assert "'premium'" in r.json()["message"]
    assert batch.json()["message"] == sync.json()["message"]


def test_no_deprecated_field_without_the_version_extension(client: TestClient) -> None:
    listed = client.get(API + "/collections").json()["collections"]
    ids = [c["id"] for c in listed]
    full = [client.get(API + f"/collections/{cid}").json() for cid in ids]
    assert "SENTINEL_5P_L2" in ids
    for doc in [*listed, *full]:
        if "deprecated" in doc or "version" in doc:
            assert any(e.startswith(VERSION_EXTENSION) for e in doc.get("stac_extensions", [])), (
                doc["id"]
            )

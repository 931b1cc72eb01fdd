"""Repeated slashes in a path are merged (the official test suite's job requests)."""

from __future__ import annotations

from fastapi.testclient import TestClient

API = "/openeo/1.2"
ADD = {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}}


def test_double_slash_reaches_the_same_route(client: TestClient) -> None:
    r = client.post(API + "/jobs", json={"process": ADD, "title": "slashes"})
    assert r.status_code == 201, r.text
    job_id = r.headers["OpenEO-Identifier"]
    job = client.get(API + f"//jobs/{job_id}")
    assert job.status_code == 200, job.text
    assert (job.json()["id"], job.json()["title"], job.json()["status"]) == (
        job_id,
        "slashes",
        "created",
    )
    assert client.patch(API + f"///jobs//{job_id}", json={"title": "t2"}).status_code == 204
    assert client.get(API + f"/jobs/{job_id}").json()["title"] == "t2"
    assert client.delete(API + f"//jobs/{job_id}").status_code == 204
    gone = client.get(API + f"/jobs/{job_id}")
    assert gone.status_code == 404 and gone.json()["code"] == "JobNotFound"


def test_unknown_path_with_double_slash_is_still_404_error_json(client: TestClient) -> None:
    r = client.get(API + "//nowhere")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"

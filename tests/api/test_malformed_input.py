"""Malformed requests get a 4xx openEO error naming what is wrong, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import Settings
from tests.conftest import seed_database

API = "/openeo/1.2"


def graph(process_id: Any = "add", **arguments: Any) -> dict[str, Any]:
    args = arguments or {"x": 1, "y": 2}
    return {"process_graph": {"n1": {"process_id": process_id, "arguments": args, "result": True}}}


@pytest.fixture
def api(tmp_path: Path, migrated_database: Path) -> Iterator[TestClient]:
    seed_database(tmp_path / "data", migrated_database)
    settings = Settings(
        allowed_hosts=["testserver"],
        data_dir=tmp_path / "data",
        dask_workers=0,
        secret_key="s",
        max_request_bytes=64 * 1024,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def assert_error(response: Any, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"id", "code", "message", "links"}, body
    assert body["code"] == code, body
    for word in words:
        assert word in body["message"], body["message"]
    return dict(body)


def test_offset_past_64_bits_is_400_naming_offset(api: TestClient) -> None:
    r = api.get(f"{API}/jobs", params={"offset": "9223372036854775808"})
    assert_error(r, 400, "RequestInvalid", "offset")


def test_unicode_digit_offsets_are_400(api: TestClient) -> None:
    assert_error(api.get(f"{API}/jobs", params={"offset": "٣"}), 400, "RequestInvalid", "offset")
    job = api.post(f"{API}/jobs", json={"process": graph()}).headers["OpenEO-Identifier"]
    # '²'.isdigit() is True but int('²') fails: this was an unhandled ValueError.
    for offset in ("²", "٣", "99999999999999999999999"):
        r = api.get(f"{API}/jobs/{job}/logs", params={"offset": offset})
        assert_error(r, 400, "RequestInvalid", "offset")


def test_process_id_as_integer_is_refused_when_the_job_is_created(api: TestClient) -> None:
    r = api.post(f"{API}/jobs", json={"process": graph(process_id=5)})
    assert_error(r, 400, "ProcessGraphInvalid", "n1", "process_id")
    assert api.get(f"{API}/jobs").json()["jobs"] == []  # nothing was stored
    job = api.post(f"{API}/jobs", json={"process": graph()}).headers["OpenEO-Identifier"]
    r = api.patch(f"{API}/jobs/{job}", json={"process": graph(process_id=5)})
    assert_error(r, 400, "ProcessGraphInvalid", "process_id")
    assert api.get(f"{API}/jobs/{job}").json()["process"] == graph()


@pytest.mark.parametrize("reference", [["n0"], 3, {"a": 1}, None])
def test_from_node_that_is_not_a_string_is_400(api: TestClient, reference: Any) -> None:
    process = graph("absolute", x={"from_node": reference})
    for r in (
        api.post(f"{API}/result", json={"process": process}),
        api.post(f"{API}/jobs", json={"process": process}),
    ):
        assert_error(r, 400, "ProcessGraphInvalid", "'n1'", "argument x", "from_node")
    errors = api.post(f"{API}/validation", json=process).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessGraphInvalid"]


@pytest.mark.parametrize("namespace", [True, 5, ["user"], {"a": 1}])
def test_namespace_that_is_not_a_string_is_400(api: TestClient, namespace: Any) -> None:
    """Found by schemathesis: a boolean or number namespace was a 500 at run time."""
    process = graph()
    process["process_graph"]["n1"]["namespace"] = namespace
    for r in (
        api.post(f"{API}/result", json={"process": process}),
        api.post(f"{API}/jobs", json={"process": process}),
    ):
        assert_error(r, 400, "ProcessGraphInvalid", "'namespace' of node 'n1'")
    errors = api.post(f"{API}/validation", json=process).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessGraphInvalid"]


def test_from_parameter_list_inside_a_callback_is_400(api: TestClient) -> None:
    callback = {
        "process_graph": {
            "a": {"process_id": "absolute", "arguments": {"x": {"from_parameter": ["x"]}}}
        }
    }
    r = api.post(f"{API}/jobs", json={"process": graph("apply", data=1, process=callback)})
    assert_error(r, 400, "ProcessGraphInvalid", "callback node a.x", "from_parameter")


def _nested_applies(depth: int) -> dict[str, Any]:
    cb: dict[str, Any] = {
        "process_graph": {
            "r": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "x"}}}
        }
    }
    cb["process_graph"]["r"]["result"] = True
    for _ in range(depth):
        cb = {
            "process_graph": {
                "r": {
                    "process_id": "apply",
                    "arguments": {"data": {"from_parameter": "x"}, "process": cb},
                    "result": True,
                }
            }
        }
    return cb


def test_estimate_reports_the_graph_error_as_a_client_error(api: TestClient) -> None:
    r = api.post(
        f"{API}/jobs", json={"process": graph("apply", data=1, process=_nested_applies(50))}
    )
    job = r.headers["OpenEO-Identifier"]
    r = api.get(f"{API}/jobs/{job}/estimate")
    assert 400 <= r.status_code < 500, r.text
    assert_error(r, r.status_code, r.json()["code"], "apply")


def test_estimate_of_a_graph_beyond_the_depth_limit_is_a_400(api: TestClient) -> None:
    # The security review's 100 nested callbacks: deeper than EOSTATION_LIMITS__GRAPH_MAX_DEPTH.
    body = {"process": graph("apply", data=1, process=_nested_applies(100))}
    job = api.post(f"{API}/jobs", json=body).headers["OpenEO-Identifier"]
    r = api.get(f"{API}/jobs/{job}/estimate")
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphComplexity"), r.text


def test_oversized_body_is_413_and_not_stored(api: TestClient) -> None:
    big = {"process": graph(), "description": "x" * 70_000}
    r = api.post(f"{API}/jobs", json=big)
    assert_error(r, 413, "PayloadTooLarge", "65536 bytes")
    assert api.get(f"{API}/jobs").json()["jobs"] == []


def test_oversized_chunked_body_is_413(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"process": {"process_graph": {}}, "description": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = api.post(f"{API}/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "PayloadTooLarge")
    assert api.get(f"{API}/jobs").json()["jobs"] == []


def test_body_under_the_limit_is_accepted(api: TestClient) -> None:
    r = api.post(f"{API}/jobs", json={"process": graph(), "description": "x" * 60_000})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", ("not valid JSON",)),
        (b"[1, 2]", ("valid dictionary",)),
        (json.dumps({"process": "x"}).encode(), ()),
        (b"[" * 5000 + b"]" * 5000, ()),
    ],
)
def test_unreadable_bodies_are_400(api: TestClient, body: bytes, words: tuple[str, ...]) -> None:
    r = api.post(f"{API}/result", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    body_json = r.json()
    assert set(body_json) >= {"id", "code", "message", "links"}
    for word in words:
        assert word in body_json["message"]


def test_served_openapi_documents_400_and_413_not_422(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    jobs_post = doc["paths"][f"{API}/jobs"]["post"]["responses"]
    assert "422" not in jobs_post
    assert {"400", "413", "429", "503"} <= set(jobs_post)
    schema = jobs_post["400"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/OpenEOError"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "422" not in json.dumps(doc["paths"])
    # The real answer for a bad query parameter matches the document.
    r = api.get(f"{API}/jobs", params={"limit": 0})
    assert str(r.status_code) in doc["paths"][f"{API}/jobs"]["get"]["responses"]

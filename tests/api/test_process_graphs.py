"""User-defined processes and /validation through the API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import shared_path
from tests.openapi_check import load_spec, validate

API = "/openeo/1.2"

SCALE = {
    "summary": "a*x+b",
    "parameters": [
        {"name": "x", "description": "value", "schema": {"type": "number"}},
        {
            "name": "a",
            "description": "factor",
            "schema": {"type": "number"},
            "optional": True,
            "default": 2,
        },
    ],
    "process_graph": {
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "a"}},
        },
        "s": {"process_id": "add", "arguments": {"x": {"from_node": "m"}, "y": 1}, "result": True},
    },
}


def test_store_list_describe_replace_delete(client: TestClient) -> None:
    assert client.put(API + "/process_graphs/scale", json=SCALE).status_code == 200
    listed = client.get(API + "/process_graphs").json()["processes"]
    assert [p["id"] for p in listed] == ["scale"] and "process_graph" not in listed[0]
    full = client.get(API + "/process_graphs/scale").json()
    assert full["id"] == "scale" and full["process_graph"] == SCALE["process_graph"]
    replaced = {**SCALE, "summary": "changed"}
    assert client.put(API + "/process_graphs/scale", json=replaced).status_code == 200
    assert client.get(API + "/process_graphs/scale").json()["summary"] == "changed"
    if (spec := shared_path("specs", "openeo-api", "openapi.yaml")).exists():
        validate(load_spec(spec), client.get(API + "/process_graphs"))
        validate(load_spec(spec), client.get(API + "/process_graphs/scale"))
    assert client.delete(API + "/process_graphs/scale").status_code == 204
    r = client.get(API + "/process_graphs/scale")
    assert (r.status_code, r.json()["code"]) == (404, "ProcessGraphNotFound")
    r = client.delete(API + "/process_graphs/scale")
    assert (r.status_code, r.json()["code"]) == (404, "ProcessGraphNotFound")


def test_udps_are_private_to_their_user(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.udps.put("bob", "bobs", SCALE)
    assert client.get(API + "/process_graphs").json()["processes"] == []
    assert client.get(API + "/process_graphs/bobs").status_code == 404


def test_bad_udps_are_rejected_with_the_right_code(client: TestClient) -> None:
    r = client.put(API + "/process_graphs/add", json=SCALE)
    assert (r.status_code, r.json()["code"]) == (400, "PredefinedProcessExists")
    r = client.put(API + "/process_graphs/nograph", json={"summary": "x"})
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphMissing")
    dangling = {
        "a": {"process_id": "add", "arguments": {"x": {"from_node": "zz"}, "y": 1}, "result": True}
    }
    r = client.put(API + "/process_graphs/broken", json={**SCALE, "process_graph": dangling})
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphInvalid")
    assert "zz" in r.json()["message"]
    two_results = {k: {**v, "result": True} for k, v in SCALE["process_graph"].items()}
    r = client.put(API + "/process_graphs/broken", json={**SCALE, "process_graph": two_results})
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphInvalid")
    r = client.put(API + "/process_graphs/bad-id", json=SCALE)
    assert (r.status_code, r.json()["code"]) == (400, "RequestInvalid")
    r = client.put(
        API + "/process_graphs/x",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "RequestInvalid")
    assert client.get(API + "/process_graphs").json()["processes"] == []


def test_validation_reports_all_problems_with_status_200(client: TestClient) -> None:
    graph = {
        "process_graph": {
            "a": {"process_id": "nope", "arguments": {}},
            "b": {"process_id": "add", "arguments": {"x": 1, "z": 2}},
            "c": {
                "process_id": "add",
                "arguments": {"x": {"from_node": "a"}, "y": {"from_node": "b"}},
                "result": True,
            },
        }
    }
    r = client.post(API + "/validation", json=graph)
    assert r.status_code == 200
    codes = sorted(e["code"] for e in r.json()["errors"])
    assert "ProcessUnsupported" in codes and "ProcessParameterUnsupported" in codes
    ok = {
        "process_graph": {
            "a": {
                "process_id": "add",
                "arguments": {"x": {"from_parameter": "unbound"}, "y": 2},
                "result": True,
            }
        }
    }
    assert client.post(API + "/validation", json=ok).json() == {"errors": []}
    # A stored UDP is a known process for its owner.
    client.put(API + "/process_graphs/scale", json=SCALE)
    calls = {"process_graph": {"u": {"process_id": "scale", "arguments": {"x": 3}, "result": True}}}
    assert client.post(API + "/validation", json=calls).json() == {"errors": []}
    r = client.post(API + "/validation", json={"foo": 1})
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphMissing")
    if (spec := shared_path("specs", "openeo-api", "openapi.yaml")).exists():
        validate(load_spec(spec), client.post(API + "/validation", json=graph))


def test_official_payloads_are_accepted(client: TestClient) -> None:
    folder = shared_path("specs", "openeo-test-suite-payloads")
    for path in sorted((folder / "put_process_graphs").glob("*.json")):
        body = json.loads(path.read_text())
        assert client.put(API + f"/process_graphs/{body['id']}", json=body).status_code == 200, (
            path.name
        )
    for path in sorted((folder / "post_validation").glob("*.json")):
        r = client.post(API + "/validation", json=json.loads(path.read_text()))
        assert r.status_code == 200 and r.json()["errors"] == [], (path.name, r.text)


def test_body_id_is_replaced_by_the_url_id(client: TestClient) -> None:
    # The API spec: "If the values don't match, the value for `id` gets replaced with the
    # value from the `process_graph_id` parameter in the path" (the official suite's
    # PUT payload is the spec's `evi` example stored under another id).
    r = client.put(API + "/process_graphs/my_evi", json={**SCALE, "id": "evi"})
    assert r.status_code == 200, r.text
    assert client.get(API + "/process_graphs/my_evi").json()["id"] == "my_evi"
    assert client.get(API + "/process_graphs/evi").status_code == 404


def test_url_id_outside_the_spec_pattern_is_400(client: TestClient) -> None:
    # process_id is `^\w+$` in the API spec: the suite's uuid4 ids (with '-') are refused.
    r = client.put(API + "/process_graphs/0b4e-77aa", json=SCALE)
    assert (r.status_code, r.json()["code"]) == (400, "RequestInvalid")
    assert "0b4e-77aa" in r.json()["message"] and "letters, digits and '_'" in r.json()["message"]

"""Property test over request bodies: process graphs of every malformed shape get a 4xx.

Bodies are built from the openEO graph shape with each part possibly replaced by a
value of the wrong type (``process_id`` as a number, ``from_node`` as a list, arguments
as a string, callbacks nested a few levels …). Every endpoint that takes a graph must
answer < 500 with an openEO error body; a stored job's estimate must too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eostation.api.app import create_app
from eostation.config import RateLimitSettings, Settings

# 150 hypothesis examples through the whole app: seconds, not milliseconds.
pytestmark = pytest.mark.slow

API = "/openeo/1.2"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
process_ids = st.one_of(
    st.sampled_from(["add", "absolute", "apply", "load_collection", "save_result", "mean"]),
    json_values,
)


def references(node_ids: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda v: {"from_node": v}, st.one_of(st.sampled_from(node_ids), json_values)),
        st.builds(lambda v: {"from_parameter": v}, st.one_of(st.just("x"), json_values)),
    )


def graphs(depth: int = 2) -> st.SearchStrategy[Any]:
    node_ids = ["a", "b", "c"]

    def argument_values() -> st.SearchStrategy[Any]:
        options = [json_values, references(node_ids), st.lists(references(node_ids), max_size=2)]
        if depth > 0:
            options.append(st.builds(lambda g: {"process_graph": g}, graphs(depth - 1)))
        return st.one_of(*options)

    node = st.fixed_dictionaries(
        {"process_id": process_ids},
        optional={
            "arguments": st.one_of(
                st.dictionaries(st.sampled_from(["x", "y", "data", "process"]), argument_values()),
                json_values,
            ),
            "result": st.one_of(st.booleans(), json_values),
            "namespace": json_values,
        },
    )
    return st.one_of(
        st.dictionaries(st.sampled_from(node_ids), st.one_of(node, json_values), max_size=3),
        json_values,
    )


bodies = st.fixed_dictionaries(
    {},
    optional={
        "process": st.one_of(
            st.fixed_dictionaries(
                {"process_graph": graphs()},
                optional={"parameters": json_values, "returns": json_values},
            ),
            json_values,
        ),
        "title": json_values,
        "budget": json_values,
        "log_level": json_values,
        "job_options": json_values,
    },
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        allowed_hosts=["testserver"],
        data_dir=tmp_path_factory.mktemp("props") / "data",
        dask_workers=0,
        secret_key="s",
        # Hundreds of jobs and sync requests a minute: this test is about bodies, not limits.
        rate_limits=RateLimitSettings(jobs_per_minute=0, sync_per_minute=0),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def answered(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.text)
    if response.status_code >= 400:
        assert {"id", "code", "message", "links"} <= set(response.json()), (what, response.text)


@given(body=bodies)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_graph_bodies_never_get_a_server_error(api: TestClient, body: dict[str, Any]) -> None:
    created = api.post(f"{API}/jobs", json=body)
    answered(created, "POST /jobs")
    if created.status_code == 201:
        job = created.headers["OpenEO-Identifier"]
        answered(api.get(f"{API}/jobs/{job}/estimate"), "estimate")
        answered(api.patch(f"{API}/jobs/{job}", json=body), "PATCH /jobs")
        api.delete(f"{API}/jobs/{job}")
    process = body.get("process")
    answered(api.post(f"{API}/validation", json=process), "POST /validation")
    answered(api.put(f"{API}/process_graphs/prop_udp", json=process), "PUT /process_graphs")
    if isinstance(process, dict) and "load_collection" not in str(process):
        # Without load_collection a graph computes in memory: cheap enough to run them all.
        answered(api.post(f"{API}/result", json=body), "POST /result")

"""Schemathesis over the server's own ``/openapi.json``: no request it generates gets a 5xx.

Every operation gets conforming (positive) and schema-violating (negative) requests.
Bounded and deterministic: a fixed number of examples per operation, Hypothesis
derandomized (the same cases every run), no deadline (the machine may be busy). The
operations are driven from one test because schemathesis' lazy pytest fixture loader
does not work with pytest 9.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from eostation.api.app import create_app
from eostation.api.deps import API_PREFIX
from eostation.config import Settings
from tests.conftest import shared_path

# Hundreds of generated requests: a minute on a busy machine (CI and `-m slow` run it).
pytestmark = pytest.mark.slow

MAX_EXAMPLES = 40


def _error_keys(path: str) -> set[str]:
    """The error body of each mount: STAC, OData (FastAPI's shape), OAuth2, else openEO."""
    if path.startswith("/stac/"):
        return {"code", "description"}
    if path.startswith("/odata/"):
        return {"detail"}
    if path.startswith("/auth/realms/"):
        return {"error"}
    return {"id", "code", "message", "links"}


def check_response(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:300]}"
    assert response.status_code < 500, (where, response.text)
    assert response.status_code != 429, "the default rate limits throttled the schemathesis run"
    if response.status_code >= 400:
        body = response.json()
        assert _error_keys(case.formatted_path) <= set(body), (where, body)
    documented = case.operation.definition.raw["responses"]
    status = str(response.status_code)
    assert status in documented or f"{status[0]}XX" in documented, (where, status)


def test_no_server_errors_from_generated_requests(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            allowed_hosts=["testserver"], data_dir=tmp_path / "data", dask_workers=0, secret_key="s"
        )
    )
    with TestClient(app):  # runs the lifespan like a server would
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        statuses: Counter[str] = Counter()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 25
        for operation in operations:
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call()
                statuses[f"{case.method} {response.status_code}"] += 1
                check_response(case, response)

            run()
    # The run reached real handlers, not only the validation layer (which generated bodies
    # get past depends on the schema: a PUT of a valid UDP is not always among them).
    assert statuses["POST 201"] > 0
    assert sum(n for key, n in statuses.items() if key.split()[1].startswith("2")) > 30
    assert sum(n for key, n in statuses.items() if key.endswith(" 400")) > 50


def test_official_document_parameters_get_no_server_errors(tmp_path: Path) -> None:
    """Requests generated from the official openEO document, for the operations we serve.

    Only operations without a request body: generating bodies from the official
    process-graph schemas takes about 30 s per operation (and schemathesis cannot
    generate ``POST /validation``'s at all), too slow for every CI run.
    """
    spec = shared_path("specs", "openeo-api", "openapi.yaml")
    official = schemathesis.openapi.from_path(str(spec))
    app = create_app(
        Settings(
            allowed_hosts=["testserver"], data_dir=tmp_path / "data", dask_workers=0, secret_key="s"
        )
    )
    served = {
        (method, path.removeprefix(API_PREFIX))
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    operations = [
        op
        for op in (result.ok() for result in official.get_all_operations())
        if (op.method.lower(), op.path) in served and "requestBody" not in op.definition.raw
    ]
    assert len(operations) >= 20
    with TestClient(app) as client:
        for operation in operations:
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )

            @given(case=strategy)
            @settings(
                max_examples=15,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                sent = case.as_transport_kwargs(base_url=f"http://testserver{API_PREFIX}")
                response = client.request(
                    sent["method"],
                    sent["url"],
                    headers=sent.get("headers"),
                    params=sent.get("params"),
                )
                assert response.status_code < 500, (sent, response.text)
                if response.status_code >= 400:
                    assert {"id", "code", "message", "links"} <= set(response.json())

            run()

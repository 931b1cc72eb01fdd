"""The openEO API core: capabilities, discovery, account, errors, CORS, OpenAPI conformance."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import OidcProvider, Settings
from tests.conftest import shared_path
from tests.oidc_issuer import LocalIssuer
from tests.openapi_check import load_spec, validate

API = "/openeo/1.2"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as iss:
        yield iss


@pytest.fixture
def oidc_client(tmp_path: Path, issuer: LocalIssuer) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="test",
        allowed_hosts=["testserver"],
        oidc_providers=[OidcProvider(id="local", issuer=issuer.issuer, title="Test issuer")],
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_well_known_points_to_the_versioned_api(client: TestClient) -> None:
    body = client.get("/.well-known/openeo").json()
    assert body["versions"] == [
        {"url": "http://testserver/openeo/1.2/", "api_version": "1.2.0", "production": False}
    ]


def test_capabilities_list_exactly_the_implemented_endpoints(client: TestClient) -> None:
    caps = client.get(API + "/").json()
    assert caps["api_version"] == "1.2.0" and caps["stac_version"] == "1.0.0"
    listed = {e["path"]: e["methods"] for e in caps["endpoints"]}
    assert "/" not in listed
    # The built-in issuer is always there, so the OIDC endpoint always lists a provider.
    assert listed["/credentials/oidc"] == ["GET"]
    for path in [
        "/collections",
        "/collections/{collection_id}",
        "/processes",
        "/file_formats",
        "/me",
    ]:
        assert listed[path] == ["GET"], path
    for path, methods in listed.items():
        concrete = path.replace("{collection_id}", "SENTINEL2_L2A")
        if "{" in concrete or "GET" not in methods:
            continue
        status = client.get(API + concrete).status_code
        expected = 401 if path == "/credentials/basic" else 200  # no Basic header sent
        assert status == expected, f"{path} is listed but answers {status}"


def test_capabilities_endpoints_are_the_openapi_documents_paths(client: TestClient) -> None:
    # The list is read from the app's routes (cheaper than building the OpenAPI document);
    # it must stay exactly what the served document says is implemented.
    listed = client.get(API + "/").json()["endpoints"]
    expected = sorted(
        (
            {
                "path": path.removeprefix(API),
                "methods": sorted(m.upper() for m in ops if m.upper() not in ("HEAD", "OPTIONS")),
            }
            for path, ops in client.get("/openapi.json").json()["paths"].items()
            if path.startswith(API) and path not in (API, API + "/")
        ),
        key=lambda e: e["path"],
    )
    assert listed == expected
    assert {"path": "/jobs/{job_id}", "methods": ["DELETE", "GET", "PATCH"]} in listed


def test_every_get_response_follows_the_openeo_api_document(
    oidc_client: TestClient, issuer: LocalIssuer
) -> None:
    spec = load_spec(shared_path("specs", "openeo-api", "openapi.yaml"))
    token = {"Authorization": f"Bearer oidc/local/{issuer.token()}"}
    caps = oidc_client.get(API + "/")
    validate(spec, caps)
    validate(spec, oidc_client.get("/.well-known/openeo"))
    paths = [e["path"] for e in caps.json()["endpoints"] if "GET" in e["methods"]]
    assert "/credentials/oidc" in paths
    collection_ids = [c["id"] for c in oidc_client.get(API + "/collections").json()["collections"]]
    assert collection_ids
    checked = 0
    for path in paths:
        if path == "/credentials/basic":
            continue  # needs a password user; covered in test_basic_login_flow
        concrete = [path]
        if "{collection_id}" in path:
            concrete = [path.replace("{collection_id}", cid) for cid in collection_ids]
        for p in concrete:
            if "{" in p:
                continue
            response = oidc_client.get(API + p, headers=token)
            assert response.status_code == 200, (p, response.text)
            validate(spec, response)
            checked += 1
    assert checked >= 8 + len(collection_ids)


def test_basic_login_flow(client: TestClient) -> None:
    spec_path = shared_path("specs", "openeo-api", "openapi.yaml")
    services = client.app.state.services  # type: ignore[attr-defined]
    services.users.add("alice", "correct horse", name="Alice")
    assert client.get(API + "/me").json()["code"] == "AuthenticationRequired"
    r = client.get(API + "/credentials/basic", headers=basic("alice", "correct horse"))
    assert r.status_code == 200
    validate(load_spec(spec_path), r)
    me = client.get(
        API + "/me", headers={"Authorization": f"Bearer basic//{r.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["user_id"] == "alice" and me.json()["name"] == "Alice"
    assert me.json()["limits"]["concurrent_jobs"] == 2
    validate(load_spec(spec_path), me)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (basic("alice", "wrong"), 403, "CredentialsInvalid"),
        (basic("bob", "pw"), 403, "CredentialsInvalid"),
        ({"Authorization": "Basic !!!"}, 403, "CredentialsInvalid"),
        ({"Authorization": "Bearer abc"}, 403, "AuthenticationSchemeInvalid"),
        ({}, 401, "AuthenticationRequired"),
    ],
)
def test_bad_credentials(
    client: TestClient, headers: dict[str, str], status: int, code: str
) -> None:
    client.app.state.services.users.add("alice", "pw")  # type: ignore[attr-defined]
    r = client.get(API + "/credentials/basic", headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert r.json()["id"] and r.json()["message"] and r.json()["links"] == []


def test_forged_and_expired_tokens(oidc_client: TestClient, issuer: LocalIssuer) -> None:
    expired = issuer.token(expires_in=-600)
    r = oidc_client.get(API + "/me", headers={"Authorization": f"Bearer oidc/local/{expired}"})
    assert (r.status_code, r.json()["code"]) == (403, "TokenInvalid")
    assert "expired" in r.json()["message"]
    r = oidc_client.get(API + "/me", headers={"Authorization": "Bearer basic//not.a.token"})
    assert (r.status_code, r.json()["code"]) == (403, "TokenInvalid")
    ok = oidc_client.get(
        API + "/me", headers={"Authorization": f"Bearer oidc/local/{issuer.token(sub='auth0|42')}"}
    )
    assert ok.json()["user_id"] == "auth0~7c42"


def test_errors_have_the_openeo_shape(client: TestClient) -> None:
    r = client.get(API + "/collections/NOPE")
    assert r.status_code == 404
    assert r.json()["code"] == "CollectionNotFound" and "NOPE" in r.json()["message"]
    assert r.json()["id"] == r.headers["request-id"]
    r = client.get(API + "/does/not/exist")
    assert (r.status_code, r.json()["code"]) == (404, "NotFound")
    r = client.delete(API + "/collections")
    assert (r.status_code, r.json()["code"]) == (405, "MethodNotAllowed")
    if (path := shared_path("specs", "openeo-api", "openapi.yaml")).exists():
        validate(load_spec(path), client.get(API + "/collections/NOPE"))


def test_cors_preflight_and_exposed_headers(client: TestClient) -> None:
    origin = {"Origin": "https://editor.openeo.org"}
    pre = client.options(
        API + "/jobs",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert pre.status_code == 200
    # As the openEO API requires: any origin, and never credentialed CORS (no cookies).
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in pre.headers
    r = client.get(API + "/", headers=origin)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"location", "openeo-identifier", "openeo-costs", "link"} <= exposed


def test_unexpected_errors_become_internal_without_traceback(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500 and r.json()["code"] == "Internal"
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_collections_and_processes_are_listed(client: TestClient) -> None:
    cols = client.get(API + "/collections").json()["collections"]
    assert "SENTINEL2_L2A" in {c["id"] for c in cols}
    s2 = client.get(API + "/collections/SENTINEL2_L2A").json()
    assert {"x", "y", "t", "bands"} <= set(s2["cube:dimensions"])
    assert any(link["rel"] == "self" for link in s2["links"])
    q = client.get(API + "/collections/SENTINEL2_L2A/queryables").json()
    assert q["type"] == "object"
    procs = {p["id"] for p in client.get(API + "/processes").json()["processes"]}
    assert {"add", "mean"} <= procs
    formats = client.get(API + "/file_formats").json()
    assert "GTiff" in formats["output"]


def test_request_validation_errors_name_the_field(client: TestClient) -> None:
    r = client.get(API + "/jobs?limit=abc")
    assert (r.status_code, r.json()["code"]) == (400, "RequestInvalid")
    assert "limit" in r.json()["message"]
    r = client.post(API + "/jobs", json=[1, 2])
    assert (r.status_code, r.json()["code"]) == (400, "RequestInvalid")
    assert "request body" in r.json()["message"]

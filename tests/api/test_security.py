"""Web pages cannot drive a local server: Origin/Sec-Fetch-Site/Host rules, the start-up secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import Settings

API = "/openeo/1.2"
ADD = {
    "process": {
        "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    }
}
EDITOR = {"Origin": "https://editor.openeo.org"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def local_token(
    client: TestClient, settings: Settings, headers: dict[str, str] | None = None
) -> dict[str, str]:
    """Log in as the Web Editor does: user 'local', the start-up secret as password."""
    r = client.get(
        API + "/credentials/basic",
        headers={**basic("local", settings.local_secret()), **(headers or {})},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer basic//{r.json()['access_token']}"}


def test_curl_style_loopback_request_needs_no_credentials(client: TestClient) -> None:
    r = client.post(API + "/result", json=ADD)
    assert (r.status_code, r.json()) == (200, 3)
    assert client.get(API + "/me").json()["user_id"] == "local"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # sandboxed iframes, file:// pages
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_request_a_web_page_could_send_must_log_in(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.post(API + "/result", json=ADD, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "AuthenticationRequired")
    r = client.get(API + "/jobs", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "AuthenticationRequired")
    # Public discovery stays open to browsers.
    assert client.get(API + "/collections", headers=headers).status_code == 200


@pytest.mark.parametrize("site", ["none", "same-origin", "NONE"])
def test_navigations_and_same_origin_fetches_are_not_forgeable(
    client: TestClient, site: str
) -> None:
    r = client.post(API + "/result", json=ADD, headers={"Sec-Fetch-Site": site})
    assert (r.status_code, r.json()) == (200, 3)


def test_the_web_editor_logs_in_as_local_with_the_start_up_secret(
    client: TestClient, settings: Settings
) -> None:
    token = local_token(client, settings, EDITOR)
    r = client.post(API + "/result", json=ADD, headers={**EDITOR, **token})
    assert (r.status_code, r.json()) == (200, 3)
    me = client.get(API + "/me", headers={**EDITOR, **token}).json()
    assert (me["user_id"], me["authentication"]) == ("local", "local")
    r = client.get(API + "/credentials/basic", headers={**EDITOR, **basic("local", "guess")})
    assert (r.status_code, r.json()["code"]) == (403, "CredentialsInvalid")
    # The secret is stored 0600 in the data dir and is the same on every read.
    path = settings.data_dir / "local.secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (
        path.read_text().strip() == settings.local_secret() and len(settings.local_secret()) >= 20
    )


def test_the_local_user_exists_only_in_local_mode(client: TestClient, settings: Settings) -> None:
    token = local_token(client, settings)
    client.app.state.services.users.add("alice", "pw")  # type: ignore[attr-defined]
    r = client.get(API + "/me", headers=token)
    assert (r.status_code, r.json()["code"]) == (403, "TokenInvalid")
    r = client.get(API + "/credentials/basic", headers=basic("local", settings.local_secret()))
    assert (r.status_code, r.json()["code"]) == (403, "CredentialsInvalid")


@pytest.mark.slow
def test_a_computing_get_is_treated_like_a_post(client: TestClient, settings: Settings) -> None:
    job_id = client.post(API + "/jobs", json=ADD).headers["OpenEO-Identifier"]
    estimate = f"{API}/jobs/{job_id}/estimate"
    assert client.get(estimate).status_code == 200
    for headers in (EDITOR, {"Sec-Fetch-Site": "cross-site"}):
        r = client.get(estimate, headers=headers)
        assert (r.status_code, r.json()["code"]) == (401, "AuthenticationRequired")
    assert (
        client.get(estimate, headers={**EDITOR, **local_token(client, settings)}).status_code == 200
    )


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.1.20:8000"])
def test_foreign_host_names_are_refused(client: TestClient, host: str) -> None:
    for method, path in [
        ("GET", "/.well-known/openeo"),
        ("POST", API + "/result"),
        ("OPTIONS", API + "/jobs"),
    ]:
        r = client.request(method, path, json=ADD, headers={"Host": host})
        assert r.status_code == 403, (method, path)
        body = r.json()
        assert body["code"] == "HostNotAllowed" and host.partition(":")[0] in body["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_host_names_are_served(client: TestClient, host: str) -> None:
    r = client.post(API + "/result", json=ADD, headers={"Host": host})
    assert (r.status_code, r.json()) == (200, 3)


def test_the_public_url_and_allowed_hosts_are_served(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path, public_url="https://eo.example.org/", allowed_hosts=["Box.lan"]
    )
    with TestClient(create_app(settings), base_url="https://eo.example.org") as c:
        assert c.get("/.well-known/openeo").status_code == 200
        assert c.get("/.well-known/openeo", headers={"Host": "box.lan:8000"}).status_code == 200
        assert c.get("/.well-known/openeo", headers={"Host": "other.example"}).status_code == 403

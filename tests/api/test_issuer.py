"""The built-in OpenID Connect issuer at CDSE's paths: grants, OAuth2 errors, revocation."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from eostation.config import Settings

API = "/openeo/1.2"
REALM = "/auth/realms/CDSE"
TOKEN = REALM + "/protocol/openid-connect/token"


def post_token(client: TestClient, **form: str) -> Any:
    return client.post(TOKEN, data=form)


def password_grant(client: TestClient, user: str, password: str) -> Any:
    return post_token(
        client, grant_type="password", client_id="cdse-public", username=user, password=password
    )


@pytest.fixture
def alice(client: TestClient) -> TestClient:
    client.app.state.services.users.add("alice", "wonderland", name="Alice")  # type: ignore[attr-defined]
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_discovery_and_credentials_oidc_advertise_the_issuer(client: TestClient) -> None:
    doc = client.get(REALM + "/.well-known/openid-configuration").json()
    issuer = "http://testserver/auth/realms/CDSE"
    assert doc["issuer"] == issuer
    assert doc["token_endpoint"] == issuer + "/protocol/openid-connect/token"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"password", "refresh_token", "client_credentials"} <= set(doc["grant_types_supported"])
    [provider] = client.get(API + "/credentials/oidc").json()["providers"]
    assert (provider["id"], provider["issuer"]) == ("CDSE", issuer)
    [default] = provider["default_clients"]
    assert default["id"] == "cdse-public"
    assert "urn:ietf:params:oauth:grant-type:device_code+pkce" in default["grant_types"]
    assert "refresh_token" in default["grant_types"]


def test_password_grant_tokens_verify_against_the_jwks(alice: TestClient) -> None:
    r = password_grant(alice, "alice", "wonderland")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    [key] = alice.get(REALM + "/protocol/openid-connect/certs").json()["keys"]
    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "RS256", "typ": "JWT", "kid": key["kid"]}
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="CLOUDFERRO_PUBLIC",
        issuer="http://testserver/auth/realms/CDSE",
    )
    assert (claims["sub"], claims["azp"], claims["exp"] - claims["iat"]) == (
        "alice",
        "cdse-public",
        600,
    )
    # Both forms of bearer token work on the openEO API.
    for auth in (f"oidc/CDSE/{body['access_token']}", body["access_token"]):
        me = alice.get(API + "/me", headers=bearer(auth)).json()
        assert (me["user_id"], me["name"], me["authentication"]) == ("alice", "Alice", "oidc")
    info = alice.get(
        REALM + "/protocol/openid-connect/userinfo", headers=bearer(body["access_token"])
    )
    assert info.json()["sub"] == "alice"


def test_refresh_and_client_credentials(alice: TestClient) -> None:
    refresh = password_grant(alice, "alice", "wonderland").json()["refresh_token"]
    r = post_token(
        alice, grant_type="refresh_token", client_id="cdse-public", refresh_token=refresh
    )
    assert r.status_code == 200 and "refresh_token" in r.json()
    assert (
        alice.get(API + "/me", headers=bearer(r.json()["access_token"])).json()["user_id"]
        == "alice"
    )
    # A refresh token is not an access token, and the other way round.
    assert alice.get(API + "/me", headers=bearer(refresh)).json()["code"] == "TokenInvalid"
    r = post_token(
        alice,
        grant_type="refresh_token",
        client_id="cdse-public",
        refresh_token=r.json()["access_token"],
    )
    assert r.json()["error"] == "invalid_grant"
    # A script's client id and secret are the account name and password.
    r = post_token(
        alice, grant_type="client_credentials", client_id="alice", client_secret="wonderland"
    )
    assert r.status_code == 200 and "refresh_token" not in r.json()
    pair = base64.b64encode(b"alice:wonderland").decode()
    r = alice.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {pair}"}
    )
    assert (
        alice.get(API + "/me", headers=bearer(r.json()["access_token"])).json()["user_id"]
        == "alice"
    )


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {
                "grant_type": "password",
                "client_id": "cdse-public",
                "username": "alice",
                "password": "x",
            },
            400,
            "invalid_grant",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "cdse-public",
                "username": "bob",
                "password": "x",
            },
            400,
            "invalid_grant",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "other",
                "username": "alice",
                "password": "wonderland",
            },
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "alice", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"grant_type": "authorization_code", "client_id": "cdse-public"},
            400,
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "refresh_token", "client_id": "cdse-public", "refresh_token": "abc"},
            400,
            "invalid_grant",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": "cdse-public",
                "device_code": "x",
            },
            400,
            "invalid_grant",
        ),
    ],
)
def test_token_endpoint_errors_are_oauth2_bodies(
    alice: TestClient, form: dict[str, str], status: int, error: str
) -> None:
    r = post_token(alice, **form)
    assert r.status_code == status
    assert set(r.json()) == {"error", "error_description"} and r.json()["error"] == error
    assert r.json()["error_description"]


def test_malformed_requests_on_the_mount_are_oauth2_bodies(client: TestClient) -> None:
    r = client.post(TOKEN, json={"grant_type": "password"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    assert "x-www-form-urlencoded" in r.json()["error_description"]
    r = client.post(
        TOKEN,
        content="grant_type=a&grant_type=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    r = client.get(REALM + "/nope")
    assert r.status_code == 404 and set(r.json()) == {"error", "error_description"}
    r = client.get(TOKEN)
    assert r.status_code == 405 and set(r.json()) == {"error", "error_description"}
    r = client.get(REALM + "/protocol/openid-connect/userinfo")
    assert (r.status_code, r.json()["error"]) == (401, "invalid_token")


def test_password_change_and_removal_revoke_every_token(alice: TestClient) -> None:
    users = alice.app.state.services.users  # type: ignore[attr-defined]
    tokens = password_grant(alice, "alice", "wonderland").json()
    pair = base64.b64encode(b"alice:wonderland").decode()
    basic = alice.get(API + "/credentials/basic", headers={"Authorization": f"Basic {pair}"}).json()
    headers = [bearer(tokens["access_token"]), bearer(f"basic//{basic['access_token']}")]
    for h in headers:
        assert alice.get(API + "/me", headers=h).status_code == 200
    users.add("alice", "new password")
    for h in headers:
        r = alice.get(API + "/me", headers=h)
        assert (r.status_code, r.json()["code"]) == (403, "TokenInvalid") and "revoked" in r.json()[
            "message"
        ]
    r = post_token(
        alice,
        grant_type="refresh_token",
        client_id="cdse-public",
        refresh_token=tokens["refresh_token"],
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant") and "revoked" in r.json()[
        "error_description"
    ]
    fresh = password_grant(alice, "alice", "new password").json()
    assert alice.get(API + "/me", headers=bearer(fresh["access_token"])).status_code == 200
    users.remove("alice")
    r = alice.get(API + "/me", headers=bearer(fresh["access_token"]))
    assert (r.status_code, r.json()["code"]) == (403, "TokenInvalid")
    r = post_token(
        alice,
        grant_type="refresh_token",
        client_id="cdse-public",
        refresh_token=fresh["refresh_token"],
    )
    assert r.json()["error"] == "invalid_grant"


def test_local_user_at_the_token_endpoint(client: TestClient, settings: Settings) -> None:
    r = password_grant(client, "local", settings.local_secret())
    assert r.status_code == 200
    me = client.get(
        API + "/me", headers={"Origin": "https://x.example", **bearer(r.json()["access_token"])}
    )
    assert me.json()["user_id"] == "local"
    assert password_grant(client, "local", "guess").json()["error"] == "invalid_grant"


DEVICE = REALM + "/protocol/openid-connect/auth/device"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def poll(client: TestClient, device_code: str, **extra: str) -> Any:
    return post_token(
        client, grant_type=GRANT, client_id="cdse-public", device_code=device_code, **extra
    )


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_web_pages_get_no_device_login_for_free(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.post(DEVICE, data={"client_id": "cdse-public"}, headers=headers)
    assert r.status_code == 200
    # Not approved: the page would need the secret to approve it.
    r = poll(client, r.json()["device_code"])
    assert (r.status_code, r.json()["error"]) == (400, "authorization_pending")


def test_accounts_approve_device_logins_on_the_verification_page(alice: TestClient) -> None:
    start = alice.post(DEVICE, data={"client_id": "cdse-public", "scope": "openid"}).json()
    code, page = start["user_code"], start["verification_uri"]
    assert page == "http://testserver/auth/realms/CDSE/device" and start["interval"] == 1
    assert poll(alice, start["device_code"]).json()["error"] == "authorization_pending"
    form = alice.get(page, params={"user_code": code})
    assert form.status_code == 200 and f'value="{code}"' in form.text
    # Markup in the code is escaped, not rendered.
    assert "<script>" not in alice.get(page, params={"user_code": "<script>"}).text
    wrong = alice.post(page, data={"user_code": code, "username": "alice", "password": "x"})
    assert wrong.status_code == 400 and "Wrong account name or password" in wrong.text
    bad = alice.post(
        page, data={"user_code": "nope", "username": "alice", "password": "wonderland"}
    )
    assert bad.status_code == 400 and "is not a user code" in bad.text
    assert poll(alice, start["device_code"]).json()["error"] == "authorization_pending"
    ok = alice.post(
        page, data={"user_code": code.lower(), "username": "alice", "password": "wonderland"}
    )
    assert ok.status_code == 200 and "Approved" in ok.text
    tokens = poll(alice, start["device_code"]).json()
    assert (
        alice.get(API + "/me", headers=bearer(tokens["access_token"])).json()["user_id"] == "alice"
    )
    # One approval gives one set of tokens.
    assert poll(alice, start["device_code"]).json()["error"] == "authorization_pending"


def test_device_code_pkce_is_checked(alice: TestClient) -> None:
    import hashlib

    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    start = alice.post(
        DEVICE,
        data={
            "client_id": "cdse-public",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    ).json()
    page = start["verification_uri"]
    alice.post(
        page, data={"user_code": start["user_code"], "username": "alice", "password": "wonderland"}
    )
    r = poll(alice, start["device_code"], code_verifier="w" * 50)
    assert (r.status_code, r.json()["error"]) == (
        400,
        "invalid_grant",
    ) and "code_verifier" in r.json()["error_description"]
    assert "access_token" in poll(alice, start["device_code"], code_verifier=verifier).json()


def test_the_signing_key_is_kept_0600_and_shared_through_settings(
    settings: Settings, tmp_path: Any
) -> None:
    from eostation.api.app import create_app

    with TestClient(create_app(settings)) as c:
        kid = c.get(REALM + "/protocol/openid-connect/certs").json()["keys"][0]["kid"]
    path = settings.data_dir / "issuer-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    # A replica with the key in its settings (another data dir) signs with the same key.
    replica = settings.model_copy(
        update={
            "data_dir": tmp_path / "replica",
            "issuer": settings.issuer.model_copy(update={"private_key": path.read_text()}),
        }
    )
    with TestClient(create_app(replica)) as c:
        assert c.get(REALM + "/protocol/openid-connect/certs").json()["keys"][0]["kid"] == kid
    assert not (tmp_path / "replica" / "issuer-key.pem").exists()


def test_a_configured_key_that_is_not_an_rsa_pem_stops_the_start(settings: Settings) -> None:
    from eostation.api.app import create_app

    bad = settings.model_copy(
        update={"issuer": settings.issuer.model_copy(update={"private_key": "not a key"})}
    )
    with pytest.raises(ValueError, match="not a readable PEM"):
        create_app(bad)


def test_an_empty_configured_key_counts_as_unset(settings: Settings) -> None:
    from eostation.api.app import create_app

    blank = settings.model_copy(
        update={"issuer": settings.issuer.model_copy(update={"private_key": ""})}
    )
    with TestClient(create_app(blank)) as c:
        assert c.get(REALM + "/protocol/openid-connect/certs").json()["keys"][0]["kid"]
    assert (settings.data_dir / "issuer-key.pem").exists()

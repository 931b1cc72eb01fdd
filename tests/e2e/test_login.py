"""Logging in with the official client against a live server: the built-in issuer, file modes."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import openeo
import pandas as pd
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A local-mode server of its own (the file-mode test inspects its data dir)."""
    live = LiveServer(tmp_path_factory.mktemp("login") / "data", env=FAST).start()
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The client keeps refresh tokens in its user dir: keep the tests out of the real one.
    monkeypatch.setenv("OPENEO_CONFIG_HOME", str(tmp_path / "openeo-home"))
    for var in ("OPENEO_AUTH_METHOD", "OPENEO_AUTH_CLIENT_ID", "OPENEO_AUTH_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)


def secret(server: LiveServer) -> str:
    return (server.data_dir / "local.secret").read_text().strip()


def test_start_up_message_shows_the_secret_and_the_web_editor_login(server: LiveServer) -> None:
    log = server.log.read_text()
    assert secret(server) in log
    assert f"https://editor.openeo.org/?server={server.url}" in log
    assert "user 'local'" in log


def test_notebook_first_cell_authenticate_oidc_needs_no_interaction(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    con = openeo.connect(server.url).authenticate_oidc(max_poll_time=30)
    assert "Authenticated using device code flow" in capsys.readouterr().out
    assert con.describe_account()["user_id"] == "local"
    # The refresh token was stored, so the next notebook run logs in without the device flow.
    again = openeo.connect(server.url).authenticate_oidc(max_poll_time=30)
    assert "Authenticated using refresh token" in capsys.readouterr().out
    assert again.describe_account()["user_id"] == "local"


def test_password_and_client_credentials_grants(server: LiveServer) -> None:
    con = openeo.connect(server.url).authenticate_oidc_resource_owner_password_credentials(
        username="local", password=secret(server), client_id="cdse-public"
    )
    assert con.describe_account()["user_id"] == "local"
    con = openeo.connect(server.url).authenticate_oidc_client_credentials(
        client_id="local", client_secret=secret(server)
    )
    assert con.describe_account()["user_id"] == "local"
    with pytest.raises(openeo.rest.OpenEoClientException):
        openeo.connect(server.url).authenticate_oidc_client_credentials(
            client_id="local", client_secret="guess"
        )


def test_tokens_verify_like_eodag_does(server: LiveServer) -> None:
    """Discovery -> JWKS -> PyJWT with the audience CDSE's tokens carry."""
    discovery = httpx.get(server.url + "/auth/realms/CDSE/.well-known/openid-configuration").json()
    token = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "password",
            "client_id": "cdse-public",
            "username": "local",
            "password": secret(server),
        },
    ).json()["access_token"]
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=discovery["id_token_signing_alg_values_supported"],
        audience="CLOUDFERRO_PUBLIC",
        issuer=discovery["issuer"],
    )
    assert claims["sub"] == "local" and claims["iss"] == server.url + "/auth/realms/CDSE"


def test_job_manager_refreshes_tokens_without_warnings(
    server: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from openeo.extra.job_management import CsvJobDatabase, MultiBackendJobManager

    con = openeo.connect(server.url).authenticate_oidc(max_poll_time=30)
    first_token = con.auth.bearer  # type: ignore[union-attr]

    def start_job(row: pd.Series, connection: openeo.Connection, **_: Any) -> Any:
        graph = {
            "add": {"process_id": "add", "arguments": {"x": int(row["x"]), "y": 1}, "result": True}
        }
        return connection.create_job({"process_graph": graph}, title=f"x={row['x']}")

    manager = MultiBackendJobManager(poll_sleep=1, root_dir=tmp_path / "out")
    manager.add_backend("local", connection=con, parallel_jobs=2)
    db = CsvJobDatabase(tmp_path / "jobs.csv").initialize_from_df(pd.DataFrame({"x": [1, 2, 3]}))
    with caplog.at_level(logging.INFO):
        manager.run_jobs(job_db=db, start_job=start_job)
    result = pd.read_csv(tmp_path / "jobs.csv")
    assert list(result["status"]) == ["finished"] * 3
    for _, row in result.iterrows():
        [path] = (tmp_path / "out" / f"job_{row['id']}").glob("openEO.json")
        assert json.loads(path.read_text()) == row["x"] + 1
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Failed to proactively refresh" in m]
    assert any("Obtained new access token (grant 'refresh_token')" in m for m in messages)
    assert con.auth.bearer != first_token  # type: ignore[union-attr]
    assert con.describe_account()["user_id"] == "local"


def test_data_dir_database_secrets_and_results_are_private(
    server: LiveServer, tmp_path: Path
) -> None:
    con = openeo.connect(server.url)
    job = con.create_job(
        {
            "process_graph": {
                "a": {"process_id": "add", "arguments": {"x": 2, "y": 3}, "result": True}
            }
        }
    )
    job.start_and_wait(max_poll_interval=0.3)
    [out] = job.get_results().download_files(tmp_path, include_stac_metadata=False)
    assert json.loads(out.read_text()) == 5
    data = server.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("eostation.db", "secret.key", "local.secret", "issuer-key.pem"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    files = [p for p in data.rglob("*") if p.is_file()]
    dirs = [p for p in data.rglob("*") if p.is_dir()]
    assert any(job.job_id in str(p) for p in files)  # the job's results are among them
    loose = [p for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]
    loose += [p for p in dirs if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []


def test_users_passwd_revokes_tokens_of_a_live_server(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data")
    live.data_dir.mkdir(parents=True)
    live.users("add", "alice", "--password", "one")
    live.start()
    try:
        con = openeo.connect(live.url).authenticate_oidc_resource_owner_password_credentials(
            username="alice", password="one", client_id="cdse-public"
        )
        assert con.describe_account()["user_id"] == "alice"
        assert "revoked" in live.users("passwd", "alice", "--password", "two")
        with pytest.raises(openeo.rest.OpenEoApiError) as err:
            con.describe_account()
        assert err.value.code == "TokenInvalid"
        con = openeo.connect(live.url).authenticate_basic("alice", "two")
        assert con.describe_account()["user_id"] == "alice"
        missing = subprocess.run(
            [
                sys.executable,
                "-m",
                "eostation",
                "users",
                "passwd",
                "bob",
                "--password",
                "x",
                "--data-dir",
                str(live.data_dir),
            ],
            capture_output=True,
            text=True,
        )
        assert missing.returncode == 1 and "no user 'bob'" in missing.stderr
    finally:
        live.stop()

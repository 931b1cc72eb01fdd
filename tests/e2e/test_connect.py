"""The official openeo client against a live ``eostation serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openeo
import pytest
from openeo.rest import OpenEoApiError

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_discovery_calls_work_unchanged_in_local_mode(live_server: str) -> None:
    con = openeo.connect(live_server)
    assert con.capabilities().api_version() == "1.2.0"
    ids = con.list_collection_ids()
    assert "SENTINEL2_L2A" in ids
    s2 = con.describe_collection("SENTINEL2_L2A")
    assert s2["id"] == "SENTINEL2_L2A" and "B04" in s2["cube:dimensions"]["bands"]["values"]
    processes = {p["id"] for p in con.list_processes()}
    assert {"add", "mean"} <= processes
    formats = con.list_file_formats()
    assert "GTiff" in formats["output"]
    assert con.describe_account()["user_id"] == "local"
    with pytest.raises(OpenEoApiError) as err:
        con.describe_collection("NO_SUCH_COLLECTION")
    assert err.value.http_status_code == 404 and err.value.code == "CollectionNotFound"


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("secured") / "data")
    server.data_dir.mkdir(parents=True)
    server.users("add", "alice", "--password", "wonderland", "--name", "Alice")
    assert "alice\tAlice" in server.users("list")
    yield server.start()
    server.stop()


def test_basic_authentication_with_the_client(secured_server: LiveServer) -> None:
    con = openeo.connect(secured_server.url)
    with pytest.raises(OpenEoApiError) as err:
        con.describe_account()
    assert err.value.http_status_code == 401 and err.value.code == "AuthenticationRequired"
    with pytest.raises(OpenEoApiError) as err:
        openeo.connect(secured_server.url).authenticate_basic("alice", "wrong")
    assert err.value.code == "CredentialsInvalid"
    con.authenticate_basic("alice", "wonderland")
    account = con.describe_account()
    assert account["user_id"] == "alice" and account["name"] == "Alice"
    # Discovery stays public.
    assert "SENTINEL2_L2A" in openeo.connect(secured_server.url).list_collection_ids()


def test_server_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eostation",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "1",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0" in proc.stderr.replace("\n", " ")


def test_cli_version() -> None:
    import subprocess
    import sys

    from eostation import __version__

    out = subprocess.run(
        [sys.executable, "-m", "eostation", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"eostation {__version__}"

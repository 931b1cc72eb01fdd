"""Shared fixtures: settings on a temporary data dir, an in-process API client, a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path in ../shared; skips the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party specs and samples live in ../shared)")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        dask_workers=0,
        secret_key="test-secret",
        # TestClient addresses the app as http://testserver.
        allowed_hosts=["testserver"],
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``eostation serve`` in a subprocess on a free loopback port."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        # No runner warm-up (tests/unit/jobs/test_warmup.py covers it): each of the suite's
        # servers would spend seconds of CPU on it.
        self._env = {
            **os.environ,
            "EOSTATION_DASK_WORKERS": "0",
            "EOSTATION_JOBS__WARM_UP": "false",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "eostation",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self._env)
        deadline = time.monotonic() + 180  # a shared, loaded machine starts slowly
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/.well-known/openeo", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not come up:\n{self.log.read_text()}")

    def users(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "eostation", "users", *args, "--data-dir", str(self.data_dir)]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, env=self._env).stdout

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server in local mode (no users), shared by the session's end-to-end tests."""
    server = LiveServer(tmp_path_factory.mktemp("live") / "data").start()
    yield server.url
    server.stop()


# PostgreSQL next to SQLite: `database_url` runs a store test on both (tests/pg_server.py).
from tests.pg_server import database_url, pg_server  # noqa: E402, F401

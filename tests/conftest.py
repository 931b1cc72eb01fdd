"""Shared fixtures: settings on a temporary data dir, an in-process API client, a live server."""

from __future__ import annotations

import gc
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from eostation.config import Settings

# eostation and FastAPI are imported in the fixtures that use them: pytest-xdist's
# controller process loads this file too, and never runs a test (~2 CPU-s of imports).

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path in ../shared; skips the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party specs and samples live in ../shared)")
    return path


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what collection built (imported modules, test items) out of garbage collections.

    It stays alive for the whole session, yet every full collection walked it again: ~300k
    objects per xdist worker, 10-15 full collections in a unit-tier run and two more at
    exit (a third less time in full collections). Frozen objects are never collected, so
    this runs once, before any test.
    """
    gc.freeze()


@pytest.fixture(autouse=True, scope="session")
def cheapest_password_hashing() -> Iterator[None]:
    """Hash test users' passwords with argon2's CHEAPEST profile, which is there for tests.

    The production parameters (``eostation.users.PASSWORD_HASH``) cost ~30 ms of CPU per
    hash and per login; the unit + API tier hashes a few hundred times. Stored hashes
    carry their parameters, so verification is the production code path unchanged.
    """
    from argon2.profiles import CHEAPEST

    from eostation.users import UserStore

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(UserStore, "hash_parameters", CHEAPEST)
        yield


E2E_DIR = Path(__file__).parent / "e2e"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not even import ``tests/e2e`` when ``-m`` deselects every ``e2e`` test.

    Its modules pull in the client stack and helpers (~1 CPU-s per xdist worker) only for
    their tests to be deselected. Every test there is marked ``e2e``; the expression is
    tried with ``e2e`` true and every combination of the other markers it names.
    """
    expression = config.option.markexpr
    if not expression or collection_path != E2E_DIR:
        return None
    try:  # pytest's own parser of -m: private, so any change just means collecting
        from _pytest.mark.expression import Expression

        compiled = Expression.compile(expression)
    except Exception:
        return None
    names = sorted(set(re.findall(r"[A-Za-z_]\w*", expression)) - {"and", "or", "not", "e2e"})
    for values in itertools.product((False, True), repeat=len(names)):
        marked = {"e2e"} | {name for name, on in zip(names, values, strict=True) if on}
        if compiled.evaluate(_has_marker(marked)):
            return None
    return True


def _has_marker(marked: set[str]) -> Callable[..., bool]:
    return lambda name, **_: name in marked


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision once per session (a template),
    with an empty STAC items index (``items.db``) beside it.

    Migrating a new database costs ~25 ms of CPU and a few fsyncs (0.1-0.2 s on a busy
    disk), and creating the items index ~25 ms of fsyncs; the hundreds of apps the tests
    build start from copies instead. ``tests/unit/test_migrations.py`` covers migrating
    new and old databases, ``tests/unit/catalog/test_sqlite_index.py`` new indexes.
    """
    from eostation.catalog.sqlite import SqliteItemIndex
    from eostation.migrations import open_database

    path = tmp_path_factory.mktemp("template") / "eostation.db"
    open_database(f"sqlite:///{path}").dispose()
    SqliteItemIndex(path.with_name("items.db")).close()  # the last close empties the WAL
    return path


def seed_database(data_dir: Path, template: Path) -> None:
    """Put copies of the templates where ``Settings(data_dir=...)`` keeps its databases."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(template, data_dir / "eostation.db")
    shutil.copyfile(template.with_name("items.db"), data_dir / "items.db")


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    from eostation.config import Settings

    seed_database(tmp_path / "data", migrated_database)
    return Settings(
        data_dir=tmp_path / "data",
        dask_workers=0,
        secret_key="test-secret",
        # TestClient addresses the app as http://testserver.
        allowed_hosts=["testserver"],
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from eostation.api.app import create_app

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
from tests.pg_server import (  # noqa: E402, F401
    _pgstac_database,
    database_url,
    pg_server,
    pgstac_template,
    pgstac_url,
)

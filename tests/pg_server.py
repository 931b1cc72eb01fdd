"""A real PostgreSQL server for tests, from the distribution's binaries, and the database fixtures.

``database_url`` runs a test on SQLite and on PostgreSQL. The server is started once per
session on a temporary data directory and a free loopback port. PostgreSQL refuses to
run as root, so as root it runs as the ``postgres`` (or ``nobody``) system user. Without
the binaries the PostgreSQL cases skip, and fail when ``CI=true`` (CI installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import free_port

_CANDIDATE_USERS = ("postgres", "nobody")


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _require_bindir() -> Path:
    bindir = _bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) are absent: apt-get install postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return bindir


class PostgresServer:
    """``postgres`` on 127.0.0.1:port with its own data directory, trust authentication."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="eostation-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = next(u for u in _CANDIDATE_USERS if _exists(u))
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> PostgresServer:
        """initdb (first time) and start; waits until it accepts connections."""
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "eostation", "--auth=trust", "-E", "UTF8"
            )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        """Fast shutdown: open connections are dropped."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Stop and start on the same port and data directory."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://eostation@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        copy = f" TEMPLATE {template}" if template else ""
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}{copy}"))
        engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop (if running) and delete the data directory."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (skips or, in CI, fails without the binaries)."""
    server = PostgresServer(_require_bindir()).start()
    yield server
    server.remove()


# The PostgreSQL cases are `slow`: the session's server takes seconds to start and stop,
# and the unit tier stays on SQLite (the README test command runs both).
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eostation.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


def _require_postgis(server: PostgresServer) -> None:
    engine = sa.create_engine(server.url())
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        ).first()
    engine.dispose()
    if found is None:
        reason = "PostGIS is absent (pgstac needs it): apt-get install postgresql-15-postgis-3"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pgstac_template(pg_server: PostgresServer) -> str:
    """A database with pgstac's schema migrated once; tests copy it (``pgstac_url``)."""
    from eostation.catalog.pgstac import migrate_pgstac

    _require_postgis(pg_server)
    url = pg_server.create_database()
    migrate_pgstac(url)
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def _pgstac_database(pg_server: PostgresServer, pgstac_template: str) -> str:
    return pg_server.create_database(template=pgstac_template)


@pytest.fixture
def pgstac_url(_pgstac_database: str) -> str:
    """A database with pgstac's schema and no collections or items (emptied for each test:
    copying the template per test took about a second)."""
    engine = sa.create_engine(_pgstac_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DELETE FROM pgstac.collections"))  # items cascade
    engine.dispose()
    return _pgstac_database

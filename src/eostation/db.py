"""The one SQL database (SQLite by default, PostgreSQL when configured).

Every part declares its tables on :data:`metadata` in its own module (``users``,
``udps``, ``jobs.tables``), which imports this one: the arrows go from the tables to
the database, never back. :func:`eostation.migrations.open_database` migrates the
schema with Alembic and creates tables no revision covers.
Only SQLAlchemy Core constructs are used, so the same code runs on both engines.

Writes go through :func:`write_attempts`: when another writer holds the lock (SQLite's
"database is locked", PostgreSQL's serialization failures and deadlocks) the
transaction is retried with exponential back-off for up to ``busy_seconds`` (the
``EOSTATION_DB_BUSY_SECONDS`` setting), then :class:`~eostation.errors.ServiceUnavailable`
(503 with ``Retry-After``) is raised instead of a raw driver error. On PostgreSQL a lost
connection (the server restarting) is retried the same way; ``pool_pre_ping`` replaces
the pool's dead connections once it is back.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from eostation.errors import ServiceUnavailable

__all__ = [
    "WriteAttempt",
    "is_contention",
    "metadata",
    "open_engine",
    "read_connection",
    "write_attempts",
]

metadata = sa.MetaData()

_BUSY_OPTION: Final = "eostation_busy_seconds"
# SQLite's own wait per attempt; write_attempts retries around it up to the busy budget.
_SQLITE_WAIT_MS: Final = 1000
# Connections a pool keeps: one per request thread of the API (anyio's default limit).
_POOL_SIZE: Final = 40
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
_PG_CONTENTION: Final = frozenset({"40001", "40P01", "55P03"})
# PostgreSQL going away or not yet back: admin/crash shutdown, cannot connect now.
_PG_GONE: Final = frozenset({"57P01", "57P02", "57P03"})


def _sqlite_setup(wait_ms: int) -> Callable[[object, object], None]:
    def on_connect(dbapi_connection: object, _record: object) -> None:
        cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
        # WAL lets the API read while a runner writes; busy_timeout waits for locks a while.
        cur.execute(f"PRAGMA busy_timeout={wait_ms}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def is_contention(exc: BaseException) -> bool:
    """Whether a database error means "try again later".

    Another writer holds the lock, or (PostgreSQL) the server is restarting or unreachable.
    """
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "pgcode", None)
    if code in _PG_CONTENTION:
        return True
    if _pg_unreachable(exc, code):
        return True
    # SQLITE_BUSY and SQLITE_LOCKED; other operational errors (disk full …) are not retried.
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def _pg_unreachable(exc: DBAPIError, code: str | None) -> bool:
    # Only PostgreSQL: a SQLite "unable to open" is a configuration error, not a restart.
    if type(exc.orig).__module__.split(".")[0] != "psycopg":
        return False
    if exc.connection_invalidated or code in _PG_GONE or (code or "").startswith("08"):
        return True
    # Refused while the server restarts: psycopg gives no SQLSTATE for a failed connect.
    return code is None and "connection" in str(exc.orig).lower()


class WriteAttempt(AbstractContextManager[Connection]):
    """One try of a write transaction; a lock conflict is swallowed and marked for retry."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._begin: AbstractContextManager[Connection] | None = None
        self.done = False
        self.conflict: BaseException | None = None

    def __enter__(self) -> Connection:
        self._begin = self._engine.begin()
        return self._begin.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self._begin is not None
        try:
            # Commits, or rolls back when the body raised; the commit itself can meet the lock.
            self._begin.__exit__(exc_type, exc, tb)
        except DBAPIError as commit_error:
            if exc is None and is_contention(commit_error):
                self.conflict = commit_error
                return True
            raise
        if exc is None:
            self.done = True
            return False
        if is_contention(exc):
            self.conflict = exc
            return True
        return False


def write_attempts(engine: Engine) -> Iterator[WriteAttempt]:
    """Tries of one write transaction, retried while other writers hold the lock.

    Use as ``for attempt in write_attempts(engine): with attempt as conn: ...``; the
    body must be safe to run again (it is: it ran in a transaction that was rolled back).
    Raises :class:`ServiceUnavailable` when the lock is still held after the budget.
    """
    budget = float(engine.get_execution_options().get(_BUSY_OPTION, 10.0))
    deadline = time.monotonic() + budget
    delay = 0.02
    while True:
        attempt = WriteAttempt(engine)
        yield attempt
        if attempt.done or attempt.conflict is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceUnavailable(
                reason=f"the database stayed locked by other writers for {budget:g} s",
                retry_after=max(1.0, round(budget / 2)),
            ) from attempt.conflict
        # Jitter keeps several waiting writers from retrying in lock-step.
        time.sleep(min(remaining, delay * random.uniform(0.5, 1.5)))
        delay = min(delay * 2, 1.0)


def _pool_options(url: str) -> dict[str, object]:
    """Connection pool options: enough connections that readers never queue behind writers.

    A writer waiting for SQLite's lock holds its pooled connection meanwhile; with the
    default pool (5 + 10 overflow) a burst of job submissions left status polls waiting
    for a connection, and the overflow connections were closed and opened again (each
    open runs the PRAGMAs). The API runs up to 40 request threads (anyio's default), so
    the pool keeps that many. A SQLite file never drops a connection: no ping at checkout.
    PostgreSQL keeps fewer (replicas and runners share its ``max_connections``, 100 by
    default) and pings, to replace connections a restart dropped.
    """
    if url.startswith("sqlite:///"):
        return {"pool_size": _POOL_SIZE, "max_overflow": _POOL_SIZE, "pool_pre_ping": False}
    if url.startswith("sqlite"):
        return {}  # in-memory: SQLAlchemy's single-connection pools
    return {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}


def read_connection(engine: Engine) -> Connection:
    """A connection for a few reads that need no common snapshot, such as a status poll.

    On PostgreSQL it runs in autocommit: each read is one round trip, without the
    ``BEGIN`` and ``ROLLBACK`` around it that a transaction costs (a poll went from eight
    round trips to four). SQLite reads need no such help: its transactions are local.
    """
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def open_engine(url: str, *, busy_seconds: float = 10.0) -> Engine:
    """A pooled engine for ``url`` without touching the schema (see :func:`eostation.migrations.open_database`).

    ``busy_seconds`` bounds how long a write waits for other writers (:func:`write_attempts`).
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
    engine = sa.create_engine(
        url, execution_options={_BUSY_OPTION: busy_seconds}, **_pool_options(url)
    )
    if engine.dialect.name == "sqlite":
        wait_ms = max(50, min(_SQLITE_WAIT_MS, int(busy_seconds * 1000)))
        sa.event.listen(engine, "connect", _sqlite_setup(wait_ms))
    return engine

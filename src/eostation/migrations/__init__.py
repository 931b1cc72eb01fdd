"""Schema migrations with Alembic, applied by :func:`open_database` at start-up.

The revisions live in ``versions/`` inside the package, so an installed wheel migrates its
database too. :func:`migrate` is idempotent and safe when several processes (the server,
its runners, ``eostation worker`` on other machines) start at once: PostgreSQL serialises
them with an advisory lock, SQLite with a lock file next to the database.

A wave-1 database (tables made by ``create_all``, no ``alembic_version``) is stamped with
revision ``0001`` (exactly the wave-1 schema) and then upgraded in place. Tables declared
on :data:`eostation.db.metadata` that no revision creates yet are created afterwards, so
a new table needs no revision; a change to an existing table does.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from eostation.db import open_engine

__all__ = [
    "WAVE1_REVISION",
    "current_revision",
    "declared_metadata",
    "head_revision",
    "migrate",
    "open_database",
]

WAVE1_REVISION: Final = "0001"
_HERE: Final = Path(__file__).resolve().parent
# Any fixed 64-bit number; all eostation processes on one database agree on it.
_PG_LOCK_KEY: Final = 0x656F73746174696F


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision this version of eostation knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # Private like the database itself; it holds nothing, only its lock matters.
    fd = os.open(f"{database}.migrate-lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def declared_metadata() -> sa.MetaData:
    """:data:`eostation.db.metadata` with every table of every part declared on it."""
    # Importing the modules that declare tables is what puts them on the metadata.
    from eostation import udps, users  # noqa: F401
    from eostation.db import metadata
    from eostation.jobs import tables  # noqa: F401

    return metadata


def migrate(engine: Engine) -> None:
    """Bring the database to the newest revision, then create tables no revision covers."""
    metadata = declared_metadata()
    with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        inspector = sa.inspect(conn)
        cfg = _config(conn)
        if not inspector.has_table("alembic_version") and inspector.has_table("jobs"):
            command.stamp(cfg, WAVE1_REVISION)
        command.upgrade(cfg, "head")
        metadata.create_all(conn)


def open_database(url: str, *, busy_seconds: float = 10.0) -> Engine:
    """Connect and migrate the schema to the newest revision (:func:`eostation.db.open_engine`
    plus :func:`migrate`). It lives here, not in ``eostation.db``: migrating needs every
    table module, and those import ``eostation.db``."""
    engine = open_engine(url, busy_seconds=busy_seconds)
    migrate(engine)
    return engine

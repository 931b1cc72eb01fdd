"""The one SQL database (SQLite by default, PostgreSQL when configured).

Every part declares its tables on :data:`metadata`; :func:`open_database` creates
what is missing and applies schema upgrades recorded in ``schema_version``.
Only SQLAlchemy Core constructs are used, so the same code runs on both engines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["SCHEMA_VERSION", "metadata", "open_database"]

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# Upgrades from version N-1 to N. Tables that are new in N come from create_all;
# this holds the changes to tables that already existed.
_UPGRADES: Final[Mapping[int, Callable[[Connection], None]]] = {}
SCHEMA_VERSION: Final = 1


def _on_sqlite_connect(dbapi_connection: object, _record: object) -> None:
    cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the API read while a runner writes; busy_timeout waits for locks instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_database(url: str) -> Engine:
    """Connect, create missing tables and upgrade the schema to :data:`SCHEMA_VERSION`."""
    # Import the modules that declare tables so that create_all sees all of them.
    from eostation import udps, users  # noqa: F401
    from eostation.catalog.odata import ids  # noqa: F401
    from eostation.jobs import tables  # noqa: F401

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _on_sqlite_connect)
    metadata.create_all(engine)
    with engine.begin() as conn:
        current = conn.execute(sa.select(schema_version.c.version)).scalar()
        if current is None:
            conn.execute(schema_version.insert().values(id=1, version=SCHEMA_VERSION))
            return engine
        for version in range(current + 1, SCHEMA_VERSION + 1):
            _UPGRADES[version](conn)
        if current < SCHEMA_VERSION:
            conn.execute(schema_version.update().values(version=SCHEMA_VERSION))
    return engine

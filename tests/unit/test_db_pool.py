"""The connection pool of a SQLite file: status polls never queue behind waiting writers."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from eostation.db import open_engine


def test_a_reader_gets_a_connection_while_forty_are_held(tmp_path: Path) -> None:
    # A writer waiting for SQLite's lock holds its connection meanwhile. With SQLAlchemy's
    # default pool (5 + 10 overflow) the 16th request waited up to 30 s for a connection.
    engine = open_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    held = [engine.connect() for _ in range(40)]
    try:
        started = time.monotonic()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 41")).scalar_one() == 41
        assert time.monotonic() - started < 10
    finally:
        for conn in held:
            conn.close()
    # Returned connections stay open for the next burst instead of being opened again.
    assert engine.pool.checkedin() >= 40  # type: ignore[attr-defined]
    engine.dispose()


def test_a_sqlite_file_needs_no_ping_at_checkout(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'ping.db'}")
    assert engine.pool._pre_ping is False  # a file never drops a connection
    engine.dispose()

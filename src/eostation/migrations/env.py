"""Alembic environment: migrates the connection :func:`eostation.migrations.migrate` hands in.

Run by hand (``alembic -c src/eostation/migrations/alembic.ini revision -m …``) it connects
to ``EOSTATION_DATABASE_URL`` (or the SQLite file in the data directory) instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from eostation.migrations import declared_metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=declared_metadata(), render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    from eostation.config import Settings
    from eostation.db import open_engine

    engine = open_engine(Settings().db_url)
    with engine.begin() as connection:
        _run(connection)


_main()

"""The SQL metadata that every part declares its tables on, and the schema version table.

A table module (``users``, ``udps``, ``jobs.tables``) imports :data:`metadata` from here;
:mod:`eostation.db` imports the table modules and creates what is missing. Keeping the
metadata apart from :func:`eostation.db.open_database` lets those imports go one way.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "schema_version"]

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

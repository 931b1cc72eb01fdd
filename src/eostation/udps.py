"""User-defined processes (``/process_graphs``), stored per user in the shared database."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eostation.db import metadata
from eostation.errors import ProcessGraphNotFound

__all__ = ["PROCESS_ID_PATTERN", "UdpStore"]

PROCESS_ID_PATTERN = re.compile(r"^\w+$", re.ASCII)

process_graphs = sa.Table(
    "process_graphs",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("process_id", sa.String(256), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
)


class UdpStore:
    """Create/replace, read, list and delete one user's stored processes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, user_id: str, process_id: str, definition: dict[str, Any]) -> None:
        """Store ``definition`` (``id`` forced to ``process_id``), replacing an older one."""
        body = json.dumps({**definition, "id": process_id})
        now = datetime.now(UTC)
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        with self._engine.begin() as conn:
            if (
                conn.execute(
                    process_graphs.update().where(key).values(definition=body, updated=now)
                ).rowcount
                == 0
            ):
                conn.execute(
                    process_graphs.insert().values(
                        user_id=user_id, process_id=process_id, definition=body, updated=now
                    )
                )

    def get(self, user_id: str, process_id: str) -> dict[str, Any] | None:
        """The stored definition, or None."""
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(process_graphs.c.definition).where(key)).first()
        return None if row is None else dict(json.loads(row.definition))

    def require(self, user_id: str, process_id: str) -> dict[str, Any]:
        """The stored definition; raises :class:`ProcessGraphNotFound`."""
        found = self.get(user_id, process_id)
        if found is None:
            raise ProcessGraphNotFound(identifier=process_id)
        return found

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """All of a user's definitions, sorted by id."""
        query = (
            sa.select(process_graphs.c.definition)
            .where(process_graphs.c.user_id == user_id)
            .order_by(process_graphs.c.process_id)
        )
        with self._engine.connect() as conn:
            return [dict(json.loads(r.definition)) for r in conn.execute(query)]

    def delete(self, user_id: str, process_id: str) -> None:
        """Remove a definition; raises :class:`ProcessGraphNotFound` when absent."""
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        with self._engine.begin() as conn:
            if conn.execute(process_graphs.delete().where(key)).rowcount == 0:
                raise ProcessGraphNotFound(identifier=process_id)

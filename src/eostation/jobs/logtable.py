"""The job log table: entries appended by runners and read by ``GET /jobs/{id}/logs``.

:class:`JobLogTable` is a part of :class:`eostation.jobs.store.JobStore`, kept apart
because the log table is read and written on its own paths (runners append, clients page).
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eostation.db import write_attempts
from eostation.jobs.model import LOG_LEVELS, LogEntry
from eostation.jobs.tables import job_logs, jobs

__all__ = ["JobLogTable", "as_utc", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as timezone-aware UTC (SQLite hands back naive datetimes; all are UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class JobLogTable:
    """Appending to and paging through a job's log entries."""

    _engine: Engine

    def log(
        self,
        job_id: str,
        level: str,
        message: str,
        *,
        code: str | None = None,
        data: Any = None,
        path: builtins.list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Append a log entry to the job (silently nothing if the job was deleted)."""
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}")
        row = {
            "job_id": job_id,
            "level": level,
            "message": message,
            "code": code,
            "data": data,
            "path": path,
            "usage": usage,
            "time": utcnow(),
        }
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                exists = conn.execute(sa.select(jobs.c.id).where(jobs.c.id == job_id)).first()
                if exists is not None:
                    conn.execute(job_logs.insert().values(**row))

    def logs(
        self, job_id: str, *, after: int | None = None, min_level: str = "debug", limit: int = 1000
    ) -> tuple[builtins.list[LogEntry], bool]:
        """Entries after id ``after`` at ``min_level`` or more severe, and whether more follow."""
        levels = LOG_LEVELS[LOG_LEVELS.index(min_level) :]
        query = (
            sa.select(job_logs)
            .where(job_logs.c.job_id == job_id, job_logs.c.level.in_(levels))
            .order_by(job_logs.c.id)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(job_logs.c.id > after)
        with self._engine.connect() as conn:
            rows = list(conn.execute(query))
        entries = [
            LogEntry(
                id=r.id,
                level=r.level,
                message=r.message,
                time=as_utc(r.time),  # type: ignore[arg-type]
                code=r.code,
                data=r.data,
                path=r.path,
                usage=r.usage,
            )
            for r in rows[:limit]
        ]
        return entries, len(rows) > limit

"""The job tables, declared on the shared :data:`eostation.db.metadata`."""

from __future__ import annotations

import sqlalchemy as sa

from eostation.db import metadata

__all__ = ["job_logs", "jobs"]

_TS = sa.DateTime(timezone=True)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("process", sa.JSON, nullable=False),
    sa.Column("plan", sa.String(64), nullable=True),
    sa.Column("budget", sa.Float, nullable=True),
    sa.Column("log_level", sa.String(16), nullable=False, default="info"),
    sa.Column("job_options", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("progress", sa.Float, nullable=True),
    sa.Column("created", _TS, nullable=False),
    sa.Column("updated", _TS, nullable=False),
    sa.Column("queued_at", _TS, nullable=True),
    sa.Column("started", _TS, nullable=True),
    sa.Column("finished", _TS, nullable=True),
    sa.Column("runner", sa.String(256), nullable=True),
    sa.Column("heartbeat", _TS, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("costs", sa.Float, nullable=True),
    sa.Column("usage", sa.JSON, nullable=True),
    sa.Column("result_dir", sa.Text, nullable=True),
    sa.Column("results", sa.JSON, nullable=True),
    sa.Column("result_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("results_expired", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_jobs_user_created", "user_id", "created"),
    sa.Index("ix_jobs_status_queued", "status", "queued_at"),
)

job_logs = sa.Table(
    "job_logs",
    metadata,
    # One sequence across all jobs: the id is the log offset clients send back.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "job_id",
        sa.String(64),
        sa.ForeignKey("jobs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("code", sa.String(128), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("time", _TS, nullable=False),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("path", sa.JSON, nullable=True),
    sa.Column("usage", sa.JSON, nullable=True),
)

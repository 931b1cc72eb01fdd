"""The wave-1 schema: jobs, job logs, users, stored process graphs and ``schema_version``.

Frozen: it must keep creating exactly what wave 1 created with ``create_all``, so that a
wave-1 database stamped with this revision and a new one upgraded to it are identical.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the wave-1 tables."""
    op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("process", sa.JSON, nullable=False),
        sa.Column("plan", sa.String(64), nullable=True),
        sa.Column("budget", sa.Float, nullable=True),
        sa.Column("log_level", sa.String(16), nullable=False),
        sa.Column("job_options", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=True),
        sa.Column("created", _TS, nullable=False),
        sa.Column("updated", _TS, nullable=False),
        sa.Column("queued_at", _TS, nullable=True),
        sa.Column("started", _TS, nullable=True),
        sa.Column("finished", _TS, nullable=True),
        sa.Column("runner", sa.String(256), nullable=True),
        sa.Column("heartbeat", _TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("costs", sa.Float, nullable=True),
        sa.Column("usage", sa.JSON, nullable=True),
        sa.Column("result_dir", sa.Text, nullable=True),
        sa.Column("results", sa.JSON, nullable=True),
        sa.Column("result_bytes", sa.BigInteger, nullable=False),
        sa.Column("results_expired", sa.Boolean, nullable=False),
    )
    op.create_index("ix_jobs_user_id", "jobs", ["user_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created"])
    op.create_index("ix_jobs_status_queued", "jobs", ["status", "queued_at"])
    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(64),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("code", sa.String(128), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("path", sa.JSON, nullable=True),
        sa.Column("usage", sa.JSON, nullable=True),
    )
    op.create_index("ix_job_logs_job_id", "job_logs", ["job_id"])
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created", _TS, nullable=False),
    )
    op.create_table(
        "process_graphs",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("process_id", sa.String(256), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("updated", _TS, nullable=False),
    )


def downgrade() -> None:
    """Drop everything (the database is empty afterwards)."""
    for table in ("process_graphs", "users", "job_logs", "jobs", "schema_version"):
        op.drop_table(table)

"""The statement that takes the next queued job for a runner, per database.

Fair across users: a user with fewer running jobs goes first, then the oldest queued
job; users already at the per-user limit wait. It is one ``UPDATE … WHERE id = (SELECT …
LIMIT 1) AND status = 'queued' RETURNING id``. On SQLite the whole write is serialised by
the database lock, so the portable compare-and-set is enough. On PostgreSQL concurrent
runners would all pick the same candidate and all but one update nothing (and idle although
other jobs wait); there the candidate is chosen ``FOR UPDATE SKIP LOCKED``, so each runner
skips the rows other runners are claiming and takes the next one.

Skipping alone breaks the per-user limit, though: two runners claiming at once each count
the user's running jobs without seeing the other's uncommitted claim, and both take a job
of the same user (``benchmarks/bench_load.py`` saw 2 running at a limit of 1). So on
PostgreSQL a claim first takes a transaction-scoped advisory lock (:func:`claim_lock`):
claims run one after another, each counting what the previous one committed. A claim is
one indexed statement of a few milliseconds, so this costs nothing next to a job.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from eostation.jobs.model import JobStatus
from eostation.jobs.tables import jobs

__all__ = ["claim_lock", "claim_statement"]

QUEUED, RUNNING = JobStatus.QUEUED.value, JobStatus.RUNNING.value
#: The advisory-lock key of job claims (any constant that nothing else uses).
CLAIM_LOCK_KEY = 0x656F_636C_6169_6D  # "eoclaim"


def claim_lock(dialect: str) -> sa.TextClause | None:
    """The statement a claim runs first in its transaction, if the database needs one."""
    if dialect != "postgresql":
        return None  # SQLite serialises writers by itself
    return sa.text(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK_KEY})")


def claim_statement(
    dialect: str, runner: str, concurrent_per_user: int, now: datetime
) -> sa.Update:
    """``UPDATE`` moving the next eligible queued job to running for ``runner``; returns its id."""
    q = jobs.alias("q")
    r = jobs.alias("r")
    running = (
        sa.select(sa.func.count())
        .select_from(r)
        .where(r.c.user_id == q.c.user_id, r.c.status == RUNNING)
        .scalar_subquery()
    )
    candidate = (
        sa.select(q.c.id)
        .where(q.c.status == QUEUED, running < concurrent_per_user)
        .order_by(running, q.c.queued_at, q.c.id)
        .limit(1)
    )
    if dialect == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True, of=q)
    return (
        jobs.update()
        .where(jobs.c.id == candidate.scalar_subquery(), jobs.c.status == QUEUED)
        .values(
            status=RUNNING,
            runner=runner,
            heartbeat=now,
            started=now,
            updated=now,
            finished=None,
            progress=0.0,
            attempts=jobs.c.attempts + 1,
        )
        .returning(jobs.c.id)
    )

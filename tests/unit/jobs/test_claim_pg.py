"""Claiming on PostgreSQL: a row another runner is claiming is skipped, not waited for."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from eostation.jobs.model import JobStatus
from eostation.jobs.store import JobStore
from eostation.jobs.tables import jobs
from eostation.migrations import open_database
from tests.pg_server import PostgresServer

# Needs the session's PostgreSQL server (seconds to start).
pytestmark = pytest.mark.slow

GRAPH = {
    "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
}


@pytest.fixture
def store(pg_server: PostgresServer) -> Iterator[JobStore]:
    engine = open_database(pg_server.create_database())
    yield JobStore(engine)
    engine.dispose()


def _two_queued(store: JobStore) -> tuple[str, str]:
    first, second = (store.create("alice", GRAPH).id for _ in range(2))
    for job_id in (first, second):
        store.transition(job_id, JobStatus.QUEUED)
    return first, second


def _claimer(store: JobStore, limit: int, result: list[str | None]) -> threading.Thread:
    """A second runner claiming in a thread; its job id (or None) lands in ``result``."""
    return threading.Thread(
        target=lambda: result.append(getattr(store.claim("r2", limit), "id", None))
    )


def test_a_row_locked_by_another_claim_is_skipped(store: JobStore) -> None:
    first, second = _two_queued(store)
    result: list[str | None] = []
    with store.engine.connect() as other:
        # Another runner is in the middle of claiming the oldest job.
        other.begin()
        other.execute(sa.select(jobs.c.id).where(jobs.c.id == first).with_for_update())
        claimer = _claimer(store, 5, result)
        claimer.start()
        claimer.join(10)
        blocked = claimer.is_alive()
        other.rollback()
    claimer.join()
    assert not blocked, "the claim waited for the other runner's lock instead of skipping"
    assert result == [second]
    assert store.find(first).status is JobStatus.QUEUED  # type: ignore[union-attr]


def test_claims_at_the_same_moment_hold_the_per_user_limit(store: JobStore) -> None:
    from eostation.jobs.claim import claim_lock, claim_statement
    from eostation.jobs.store import utcnow

    first, second = _two_queued(store)
    result: list[str | None] = []
    with store.engine.connect() as other:
        # Another runner has claimed alice's first job but not committed yet.
        other.begin()
        lock = claim_lock("postgresql")
        assert lock is not None
        other.execute(lock)
        claimed = other.execute(claim_statement("postgresql", "r1", 1, utcnow())).scalar()
        assert claimed == first
        claimer = _claimer(store, 1, result)
        claimer.start()
        claimer.join(1)
        other.commit()
    claimer.join(10)
    # Without the lock the second runner skipped the locked row, counted no running job of
    # alice in its snapshot, and took her second job: two running at a limit of one.
    assert result == [None]
    assert store.running_count("alice") == 1
    assert store.find(second).status is JobStatus.QUEUED  # type: ignore[union-attr]

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


def test_a_row_locked_by_another_claim_is_skipped(store: JobStore) -> None:
    first, second = (store.create("alice", GRAPH).id for _ in range(2))
    for job_id in (first, second):
        store.transition(job_id, JobStatus.QUEUED)
    result: list[str | None] = []
    with store.engine.connect() as other:
        # Another runner is in the middle of claiming the oldest job.
        other.begin()
        other.execute(sa.select(jobs.c.id).where(jobs.c.id == first).with_for_update())
        claimer = threading.Thread(
            target=lambda: result.append(getattr(store.claim("r2", 5), "id", None))
        )
        claimer.start()
        claimer.join(10)
        blocked = claimer.is_alive()
        other.rollback()
    claimer.join()
    assert not blocked, "the claim waited for the other runner's lock instead of skipping"
    assert result == [second]
    assert store.find(first).status is JobStatus.QUEUED  # type: ignore[union-attr]

"""The job store: a conformance class every store backend passes, run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eostation.errors import JobLocked, JobNotFound
from eostation.jobs.model import (
    JobStatus,
    TransitionInvalid,
    allowed,
    check_transition,
    sources,
)
from eostation.jobs.store import JobStore, utcnow
from eostation.migrations import open_database
from eostation.users import UserStore
from tests.pg_server import PostgresServer

S = JobStatus
GRAPH = {
    "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
}


def test_transition_table_matches_the_issue() -> None:
    assert allowed(S.CREATED, S.QUEUED) and not allowed(S.CREATED, S.RUNNING)
    assert allowed(S.RUNNING, S.QUEUED)  # requeued after a crash
    for end in (S.FINISHED, S.ERROR, S.CANCELED):
        assert allowed(end, S.QUEUED)
        assert not allowed(end, S.CREATED)
    assert not allowed(S.QUEUED, S.CREATED) and not allowed(S.RUNNING, S.CREATED)
    assert sources(S.CANCELED) == {S.QUEUED, S.RUNNING}
    with pytest.raises(TransitionInvalid):
        check_transition(S.FINISHED, S.RUNNING)


class JobStoreTests:
    """Every JobStore backend must pass these."""

    @pytest.fixture
    def store(self) -> JobStore:
        raise NotImplementedError

    def test_missing_job_raises(self, store: JobStore) -> None:
        with pytest.raises(JobNotFound):
            store.get("alice", "nope")

    def test_create_and_get_round_trip(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH, title="t", budget=2.5, job_options={"a": 1})
        got = store.get("alice", job.id)
        assert got.status is S.CREATED and got.process == GRAPH and got.title == "t"
        assert got.budget == 2.5 and got.job_options == {"a": 1}
        assert got.created.tzinfo is not None and abs(got.created - utcnow()) < timedelta(seconds=5)
        with pytest.raises(JobNotFound):
            store.get("bob", job.id)

    def test_process_text_is_the_stored_json_of_the_owner_only(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        assert json.loads(store.process_text("alice", job.id)) == GRAPH
        for user, job_id in (("bob", job.id), ("alice", "nope")):
            with pytest.raises(JobNotFound):
                store.process_text(user, job_id)

    def test_list_pages_newest_first(self, store: JobStore) -> None:
        ids = [store.create("alice", GRAPH, title=str(i)).id for i in range(5)]
        store.create("bob", GRAPH)
        page, more = store.list("alice", limit=3)
        assert [j.id for j in page] == ids[::-1][:3] and more
        page2, more2 = store.list("alice", limit=3, offset=3)
        assert [j.id for j in page2] == ids[::-1][3:] and not more2

    def test_transitions_are_compare_and_set(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        assert not store.transition(job.id, S.RUNNING)  # created -> running is not allowed
        assert store.transition(job.id, S.QUEUED, current=S.CREATED)
        assert not store.transition(job.id, S.QUEUED, current=S.CREATED)  # already moved
        assert store.get("alice", job.id).queued_at is not None
        with pytest.raises(TransitionInvalid):
            store.transition(job.id, S.CREATED, current=S.QUEUED)

    def test_update_is_refused_while_active(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        assert store.update("alice", job.id, {"title": "new"}).title == "new"
        store.transition(job.id, S.QUEUED)
        with pytest.raises(JobLocked):
            store.update("alice", job.id, {"title": "newer"})

    def test_claim_respects_the_per_user_limit_and_is_fair(self, store: JobStore) -> None:
        a = [store.create("alice", GRAPH).id for _ in range(3)]
        b = store.create("bob", GRAPH).id
        for job_id in [*a, b]:
            store.transition(job_id, S.QUEUED)
        first = store.claim("r1", 2)
        assert first is not None and first.id == a[0] and first.status is S.RUNNING
        assert first.runner == "r1" and first.attempts == 1
        # Bob has nothing running, so he goes before Alice's second job.
        second = store.claim("r2", 2)
        assert second is not None and second.id == b
        third = store.claim("r3", 2)
        assert third is not None and third.id == a[1]
        assert store.claim("r4", 2) is None  # Alice is at her limit; a[2] waits
        assert store.get("alice", a[2]).status is S.QUEUED
        assert store.queue_position(store.get("alice", a[2])) == 1
        assert store.transition(a[0], S.FINISHED, holder="r1")
        fourth = store.claim("r4", 2)
        assert fourth is not None and fourth.id == a[2]

    def test_describe_gives_the_job_and_its_queue_state_in_one_go(self, store: JobStore) -> None:
        a = [store.create("alice", GRAPH).id for _ in range(3)]
        for job_id in a:
            store.transition(job_id, S.QUEUED)
        running = store.claim("r1", 5)
        assert running is not None and running.id == a[0]
        job, process, state = store.describe("alice", a[2])
        assert job.id == a[2] and job.status is S.QUEUED
        assert state == (2, 1)  # a[1] is ahead; one of alice's jobs runs
        # The process comes as the stored JSON text, not parsed (the job's is left empty).
        assert json.loads(process) == GRAPH and job.process == {}
        job, process, state = store.describe("alice", a[0])
        full = store.get("alice", a[0])
        assert (replace(job, process=json.loads(process)), state) == (full, None)
        with pytest.raises(JobNotFound):
            store.describe("bob", a[2])  # another user's job does not exist for bob

    def test_concurrent_claims_never_take_the_same_job(self, store: JobStore) -> None:
        ids = set()
        for user in ("u1", "u2", "u3", "u4"):
            for _ in range(5):
                job = store.create(user, GRAPH)
                store.transition(job.id, S.QUEUED)
                ids.add(job.id)
        claimed: list[str] = []
        lock = threading.Lock()

        def worker(name: str) -> None:
            while (job := store.claim(name, 100)) is not None:
                with lock:
                    claimed.append(job.id)

        threads = [threading.Thread(target=worker, args=(f"r{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(claimed) == sorted(ids)

    def test_runners_claiming_at_once_each_get_a_job(self, store: JobStore) -> None:
        # As many queued jobs as runners, all claiming at the same moment on their own
        # connections: nobody may come back empty-handed while a job still waits.
        n = 4
        ids = set()
        for i in range(n):
            job = store.create(f"u{i}", GRAPH)
            store.transition(job.id, S.QUEUED)
            ids.add(job.id)
        barrier = threading.Barrier(n)
        got: list[str | None] = []
        lock = threading.Lock()

        def runner(name: str) -> None:
            barrier.wait()
            job = store.claim(name, 100)
            with lock:
                got.append(None if job is None else job.id)

        threads = [threading.Thread(target=runner, args=(f"r{i}",)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(j for j in got if j is not None) == sorted(ids) and None not in got

    def test_heartbeat_only_for_the_holder(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        store.transition(job.id, S.QUEUED)
        store.claim("r1", 2)
        assert store.heartbeat(job.id, "r1", 42.0)
        assert store.get("alice", job.id).progress == 42.0
        assert not store.heartbeat(job.id, "r2", 50.0)
        store.transition(job.id, S.CANCELED)
        assert not store.heartbeat(job.id, "r1", 60.0)
        assert not store.transition(job.id, S.FINISHED, holder="r1")

    def test_logs_page_by_offset_and_filter_by_level(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        for level in ("debug", "info", "warning", "error", "info"):
            store.log(job.id, level, f"a {level}", data={"n": 1})
        entries, more = store.logs(job.id)
        assert [e.level for e in entries] == ["debug", "info", "warning", "error", "info"]
        assert not more and entries[0].data == {"n": 1}
        later, _ = store.logs(job.id, after=entries[2].id)
        assert [e.message for e in later] == ["a error", "a info"]
        warn, _ = store.logs(job.id, min_level="warning")
        assert [e.level for e in warn] == ["warning", "error"]
        page, more = store.logs(job.id, limit=2)
        assert len(page) == 2 and more

    def test_delete_removes_job_and_logs(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        store.log(job.id, "info", "x")
        store.delete("alice", job.id)
        assert store.find(job.id) is None
        assert store.logs(job.id)[0] == []
        store.log(job.id, "info", "ignored after delete")
        assert store.logs(job.id)[0] == []

    def test_storage_and_results_bookkeeping(self, store: JobStore) -> None:
        job = store.create("alice", GRAPH)
        store.transition(job.id, S.QUEUED)
        store.claim("r1", 2)
        assert store.transition(
            job.id,
            S.FINISHED,
            holder="r1",
            result_dir="/x",
            results={"a.json": {}},
            result_bytes=1234,
            finished=utcnow() - timedelta(days=3),
        )
        assert store.storage_used("alice") == 1234 and store.storage_used("bob") == 0
        old = store.results_older_than(utcnow() - timedelta(days=2))
        assert [j.id for j in old] == [job.id]
        assert store.drop_results(job.id, "/x", expired=True)
        got = store.get("alice", job.id)
        assert got.results_expired and got.result_dir is None and store.storage_used("alice") == 0


class TestJobStore(JobStoreTests):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[JobStore]:
        engine = open_database(database_url)
        yield JobStore(engine)
        engine.dispose()


@pytest.mark.slow
def test_a_status_poll_reads_postgresql_outside_a_transaction(pg_server: PostgresServer) -> None:
    """A poll's reads (the account, the job) run in autocommit: no BEGIN/ROLLBACK round trips."""
    engine = open_database(pg_server.create_database())
    try:
        users = UserStore(engine)
        users.add("alice", "secret-password-1")
        store = JobStore(engine)
        job = store.create("alice", {"process_graph": {}}, title="t")
        states: list[int] = []

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _record(conn: sa.Connection, *_: object) -> None:
            states.append(conn.connection.dbapi_connection.info.transaction_status)  # type: ignore[union-attr]

        account = users.account("alice")
        described, process, _queue = store.describe("alice", job.id)
        assert account is not None and account[0].user_id == "alice"
        assert described.id == job.id and json.loads(process) == {"process_graph": {}}
        # psycopg's TransactionStatus: IDLE is 0, INTRANS 2 (inside a BEGIN … block).
        assert states and all(state == 0 for state in states), states
    finally:
        engine.dispose()

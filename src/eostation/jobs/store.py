"""The job store: jobs (and, through :class:`JobLogTable`, their logs) in the shared SQL database.

Only SQLAlchemy Core and portable SQL are used, so the same code runs on SQLite and
PostgreSQL. Every status change is a compare-and-set ``UPDATE … WHERE status IN
(allowed sources)``, built by :meth:`JobStore.transition` from the transition table,
so two API replicas and any number of runners never overwrite each other. Claiming a
job is one ``UPDATE … WHERE id = (SELECT … LIMIT 1) AND status = 'queued'``
(:mod:`eostation.jobs.claim`; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from eostation.db import read_connection, write_attempts
from eostation.errors import JobLocked, JobNotFound
from eostation.jobs.claim import claim_lock, claim_statement
from eostation.jobs.logtable import JobLogTable, as_utc, utcnow
from eostation.jobs.model import (
    ACTIVE,
    Job,
    JobStatus,
    check_transition,
    sources,
)
from eostation.jobs.tables import job_logs, jobs

__all__ = ["JobStore", "utcnow"]

QUEUED, RUNNING = JobStatus.QUEUED, JobStatus.RUNNING


def _job(row: Row[Any], process: dict[str, Any] | None = None) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        user_id=m["user_id"],
        process=m["process"] if process is None else process,
        status=JobStatus(m["status"]),
        created=as_utc(m["created"]),  # type: ignore[arg-type]
        updated=as_utc(m["updated"]),  # type: ignore[arg-type]
        title=m["title"],
        description=m["description"],
        plan=m["plan"],
        budget=m["budget"],
        log_level=m["log_level"],
        job_options=m["job_options"] or {},
        progress=m["progress"],
        queued_at=as_utc(m["queued_at"]),
        started=as_utc(m["started"]),
        finished=as_utc(m["finished"]),
        runner=m["runner"],
        heartbeat=as_utc(m["heartbeat"]),
        attempts=m["attempts"],
        costs=m["costs"],
        usage=m["usage"],
        result_dir=m["result_dir"],
        results=m["results"],
        result_bytes=m["result_bytes"] or 0,
        results_expired=bool(m["results_expired"]),
    )


class JobStore(JobLogTable):
    """Jobs and job logs on a SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The database engine (shared with the other stores)."""
        return self._engine

    # -- jobs ---------------------------------------------------------------------------

    def create(
        self,
        user_id: str,
        process: Mapping[str, Any],
        *,
        title: str | None = None,
        description: str | None = None,
        plan: str | None = None,
        budget: float | None = None,
        log_level: str = "info",
        job_options: Mapping[str, Any] | None = None,
    ) -> Job:
        """Store a new job in status ``created``."""
        now = utcnow()
        job_id = "j-" + uuid.uuid4().hex[:20]
        row = {
            "id": job_id,
            "user_id": user_id,
            "process": dict(process),
            "title": title,
            "description": description,
            "plan": plan,
            "budget": budget,
            "log_level": log_level,
            "job_options": dict(job_options or {}),
            "status": JobStatus.CREATED.value,
            "created": now,
            "updated": now,
            "attempts": 0,
            "result_bytes": 0,
            "results_expired": False,
        }
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                conn.execute(jobs.insert().values(**row))
        return self.get(user_id, job_id)

    def get(self, user_id: str, job_id: str) -> Job:
        """The job ``job_id`` of ``user_id``; :class:`JobNotFound` otherwise."""
        job = self.find(job_id)
        if job is None or job.user_id != user_id:
            raise JobNotFound(identifier=job_id)
        return job

    def process_text(self, user_id: str, job_id: str) -> str:
        """The job's ``process`` as the JSON text stored, unparsed (:class:`JobNotFound`
        when it is not ``user_id``'s): estimates hand it to a worker process, and parsing
        a 10,000-node graph here would hold the API process's GIL for tens of ms."""
        query = sa.select(jobs.c.user_id, sa.cast(jobs.c.process, sa.Text)).where(
            jobs.c.id == job_id
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row[0] != user_id:
            raise JobNotFound(identifier=job_id)
        return str(row[1])

    def find(self, job_id: str) -> Job | None:
        """The job ``job_id`` of any user, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def describe(self, user_id: str, job_id: str) -> tuple[Job, str, tuple[int, int] | None]:
        """What ``GET /jobs/{id}`` (what clients poll) needs, on one connection.

        The job (as :meth:`get`, but with an empty ``process``), its ``process`` as the
        JSON text stored, and when queued its :meth:`queue_state`. The text goes into the
        answer as it is: parsing and encoding a big process graph again on every poll
        would hold the API process's GIL for milliseconds.
        """
        query: sa.Select[Any] = sa.select(
            *(c for c in jobs.c if c is not jobs.c.process),
            sa.cast(jobs.c.process, sa.Text).label("process_text"),
        ).where(jobs.c.id == job_id)
        with read_connection(self._engine) as conn:
            row = conn.execute(query).first()
            if row is None or row.user_id != user_id:
                raise JobNotFound(identifier=job_id)
            job = _job(row, process={})
            return job, str(row.process_text), self._queue_state(conn, job)

    def list(self, user_id: str, *, limit: int, offset: int = 0) -> tuple[builtins.list[Job], bool]:
        """A page of the user's jobs, newest first, and whether more follow."""
        query = (
            sa.select(jobs)
            .where(jobs.c.user_id == user_id)
            .order_by(jobs.c.created.desc(), jobs.c.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
        with self._engine.connect() as conn:
            rows = [_job(r) for r in conn.execute(query)]
        return rows[:limit], len(rows) > limit

    def update(self, user_id: str, job_id: str, values: Mapping[str, Any]) -> Job:
        """Change metadata (title, process, budget …) of a job that is not queued or running."""
        self.get(user_id, job_id)
        locked = [s.value for s in ACTIVE]
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                done = conn.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, jobs.c.status.not_in(locked))
                    .values(**values, updated=utcnow())
                ).rowcount
        if not done:
            raise JobLocked(identifier=job_id)
        return self.get(user_id, job_id)

    def delete(self, user_id: str, job_id: str) -> Job:
        """Remove a job and its logs; returns what was stored (to clean up its files)."""
        job = self.get(user_id, job_id)
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                conn.execute(job_logs.delete().where(job_logs.c.job_id == job_id))
                conn.execute(jobs.delete().where(jobs.c.id == job_id))
        return job

    def transition(
        self,
        job_id: str,
        target: JobStatus,
        *,
        current: JobStatus | None = None,
        holder: str | None = None,
        **values: Any,
    ) -> bool:
        """Move a job to ``target`` if the transition table allows it from its stored status.

        The only way a status changes. ``current`` narrows the expected source status,
        ``holder`` requires that this runner still holds the job; ``values`` are written
        in the same statement. Returns False when the job was not in a suitable state
        (someone else changed it first, or it does not exist).
        """
        allowed = sources(target)
        if current is not None:
            check_transition(current, target)
            allowed = frozenset({current})
        where = [jobs.c.id == job_id, jobs.c.status.in_([s.value for s in allowed])]
        if holder is not None:
            where.append(jobs.c.runner == holder)
        now = utcnow()
        values.setdefault("updated", now)
        if target is QUEUED:
            values.setdefault("queued_at", now)
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                stmt = jobs.update().where(*where).values(status=target.value, **values)
                outcome = bool(conn.execute(stmt).rowcount)
        return outcome

    def claim(self, runner: str, concurrent_per_user: int) -> Job | None:
        """Atomically take the next queued job for ``runner``, or None.

        Fair across users: a user with fewer running jobs goes first, then the oldest
        queued job; users already at ``concurrent_per_user`` running jobs wait. Concurrent
        runners get different jobs (:mod:`eostation.jobs.claim`).
        """
        dialect = self._engine.dialect.name
        stmt = claim_statement(dialect, runner, concurrent_per_user, utcnow())
        lock = claim_lock(dialect)
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                if lock is not None:
                    conn.execute(lock)  # held until commit: see eostation.jobs.claim
                job_id = conn.execute(stmt).scalar()
        return None if job_id is None else self.find(job_id)

    def heartbeat(self, job_id: str, runner: str, progress: float | None) -> bool:
        """Record that ``runner`` still works on the job; False when it no longer holds it."""
        now = utcnow()
        values: dict[str, Any] = {"heartbeat": now, "updated": now}
        if progress is not None:
            values["progress"] = progress
        stmt = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == RUNNING.value, jobs.c.runner == runner)
            .values(**values)
        )
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                outcome = bool(conn.execute(stmt).rowcount)
        return outcome

    def running(self) -> builtins.list[Job]:
        """Every running job (for finding those whose runner died)."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(jobs).where(jobs.c.status == RUNNING.value))
            return [_job(r) for r in rows]

    def queue_position(self, job: Job) -> int | None:
        """1 + the number of the owner's own queued jobs ahead of ``job`` (None unless queued).

        Other users' jobs are not counted: the position must not reveal how busy the
        server is with other people's work. Within one user the fair-share claim order
        (fewest running jobs first, then oldest) is simply the queueing order.
        """
        with self._engine.connect() as conn:
            state = self._queue_state(conn, job)
        return None if state is None else state[0]

    def _queue_state(self, conn: sa.Connection, job: Job) -> tuple[int, int] | None:
        """``(queue position, running jobs of the owner)`` in one query; None unless queued."""
        if job.status is not QUEUED or job.queued_at is None:
            return None
        ahead = (
            sa.select(sa.func.count())
            .where(
                jobs.c.user_id == job.user_id,
                jobs.c.status == QUEUED.value,
                sa.or_(
                    jobs.c.queued_at < job.queued_at,
                    sa.and_(jobs.c.queued_at == job.queued_at, jobs.c.id < job.id),
                ),
            )
            .scalar_subquery()
        )
        running = (
            sa.select(sa.func.count())
            .where(jobs.c.user_id == job.user_id, jobs.c.status == RUNNING.value)
            .scalar_subquery()
        )
        row = conn.execute(sa.select(ahead, running)).one()
        return int(row[0]) + 1, int(row[1])

    def running_count(self, user_id: str) -> int:
        """How many jobs of the user are running."""
        query = sa.select(sa.func.count()).where(
            jobs.c.user_id == user_id, jobs.c.status == RUNNING.value
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def storage_used(self, user_id: str) -> int:
        """Bytes of stored results of the user."""
        query = sa.select(sa.func.coalesce(sa.func.sum(jobs.c.result_bytes), 0)).where(
            jobs.c.user_id == user_id
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def results_older_than(self, finished_before: datetime) -> builtins.list[Job]:
        """Jobs whose results were stored before ``finished_before`` and still exist."""
        query = sa.select(jobs).where(
            jobs.c.result_dir.is_not(None), jobs.c.finished < finished_before
        )
        with self._engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def drop_results(self, job_id: str, result_dir: str, *, expired: bool) -> bool:
        """Forget the stored results if they are still ``result_dir``; returns whether it did."""
        stmt = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.result_dir == result_dir)
            .values(result_dir=None, results=None, result_bytes=0, results_expired=expired)
        )
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                outcome = bool(conn.execute(stmt).rowcount)
        return outcome

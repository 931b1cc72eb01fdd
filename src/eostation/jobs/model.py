"""The batch-job model: statuses, the one table of allowed transitions, the job record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "ACTIVE",
    "LOG_LEVELS",
    "Job",
    "JobStatus",
    "LogEntry",
    "TransitionInvalid",
    "allowed",
    "check_transition",
    "sources",
]


class JobStatus(StrEnum):
    """The openEO batch-job statuses."""

    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    ERROR = "error"
    CANCELED = "canceled"


CREATED, QUEUED, RUNNING = JobStatus.CREATED, JobStatus.QUEUED, JobStatus.RUNNING
FINISHED, ERROR, CANCELED = JobStatus.FINISHED, JobStatus.ERROR, JobStatus.CANCELED

_NEXT: Final[Mapping[JobStatus, frozenset[JobStatus]]] = {
    CREATED: frozenset({QUEUED}),
    # QUEUED -> CANCELED: stopped before it ran. A stopped job never goes back to
    # CREATED, so that clients waiting for an end state (start_and_wait) return.
    QUEUED: frozenset({RUNNING, CANCELED}),
    # RUNNING -> QUEUED: requeued after its runner crashed.
    RUNNING: frozenset({FINISHED, ERROR, CANCELED, QUEUED}),
    # The end states can be started again (results are recomputed).
    FINISHED: frozenset({QUEUED}),
    ERROR: frozenset({QUEUED}),
    CANCELED: frozenset({QUEUED}),
}

ACTIVE: Final = frozenset({QUEUED, RUNNING})
"""Statuses in which a job is locked (no PATCH) and may still produce costs."""

LOG_LEVELS: Final = ("debug", "info", "warning", "error")
"""openEO log levels, from least to most severe."""


class TransitionInvalid(ValueError):
    """A status change that the transition table does not allow."""


def allowed(current: JobStatus, target: JobStatus) -> bool:
    """Whether a job may go from ``current`` to ``target``."""
    return target in _NEXT[current]


def check_transition(current: JobStatus, target: JobStatus) -> None:
    """Raise :class:`TransitionInvalid` unless ``current -> target`` is allowed."""
    if not allowed(current, target):
        raise TransitionInvalid(f"a job cannot go from '{current}' to '{target}'")


def sources(target: JobStatus) -> frozenset[JobStatus]:
    """Every status from which ``target`` can be reached."""
    return frozenset(s for s, nxt in _NEXT.items() if target in nxt)


@dataclass(frozen=True)
class Job:
    """One batch job as stored.

    ``process`` is the openEO ``process_graph_with_metadata`` object; ``results``
    holds the STAC assets of the last successful run (keys are file names) and
    ``result_dir`` where they live; ``runner``/``heartbeat`` name the runner that
    holds a running job and when it last reported.
    """

    id: str
    user_id: str
    process: dict[str, Any]
    status: JobStatus
    created: datetime
    updated: datetime
    title: str | None = None
    description: str | None = None
    plan: str | None = None
    budget: float | None = None
    log_level: str = "info"
    job_options: dict[str, Any] = field(default_factory=dict)
    progress: float | None = None
    queued_at: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    runner: str | None = None
    heartbeat: datetime | None = None
    attempts: int = 0
    costs: float | None = None
    usage: dict[str, Any] | None = None
    result_dir: str | None = None
    results: dict[str, Any] | None = None
    result_bytes: int = 0
    results_expired: bool = False


@dataclass(frozen=True)
class LogEntry:
    """One job log entry (openEO ``log_entry``); ``id`` orders entries across all jobs."""

    id: int
    level: str
    message: str
    time: datetime
    code: str | None = None
    data: Any = None
    path: list[dict[str, Any]] | None = None
    usage: dict[str, Any] | None = None

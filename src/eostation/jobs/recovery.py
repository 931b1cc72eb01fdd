"""Housekeeping every runner shares: requeue the jobs of dead runners, expire old results.

A runner is considered dead when its heartbeat is older than ``jobs.stale_after_seconds``
or, on the same machine, when its process no longer exists. Its job is requeued up to
``jobs.max_attempts`` runs, then marked ``error`` with a log entry saying why. Either
way, files of a run that never got published are removed first.
"""

from __future__ import annotations

from datetime import timedelta

from eostation.config import Settings
from eostation.jobs.model import JobStatus
from eostation.jobs.objstore import ResultStorage
from eostation.jobs.runwatch import process_gone
from eostation.jobs.store import JobStore, utcnow

__all__ = ["expire_results", "recover_jobs"]

RUNNING, QUEUED, ERROR = JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.ERROR


def recover_jobs(
    settings: Settings,
    store: JobStore,
    layout: ResultStorage,
    *,
    runner: str,
    current: str | None,
) -> list[str]:
    """Requeue (or fail) running jobs whose runner died; returns their ids.

    Args:
        settings: The settings (``jobs.stale_after_seconds``, ``jobs.max_attempts``).
        store: The job store.
        layout: Where results live, to remove what an interrupted run left.
        runner: The id of the runner doing the recovery.
        current: The job that runner is running now (never touched).

    Returns:
        The ids of the jobs requeued or failed.
    """
    cfg = settings.jobs
    deadline = utcnow() - timedelta(seconds=cfg.stale_after_seconds)
    handled = []
    for job in store.running():
        if job.runner == runner and job.id == current:
            continue
        stale = job.heartbeat is None or job.heartbeat < deadline
        # A runner runs one job at a time: one of ours that is not current was left behind
        # when its outcome could not be recorded (the database was unreachable).
        orphan = job.runner == runner
        if not (orphan or stale or process_gone(job.runner)):
            continue
        why = (
            "its outcome could not be recorded (the database was unreachable)"
            if orphan
            else f"its runner {job.runner} stopped responding (killed, out of memory or machine lost)"
        )
        # Also a run that crashed between publishing its directory and recording it.
        layout.clean_unpublished(job.id, keep=job.result_dir)
        if job.attempts < cfg.max_attempts:
            if store.transition(
                job.id, QUEUED, current=RUNNING, holder=job.runner, runner=None, progress=0.0
            ):
                store.log(
                    job.id,
                    "warning",
                    f"Run {job.attempts} was interrupted because {why}. "
                    f"The job was queued again (run {job.attempts + 1} of at most {cfg.max_attempts}).",
                    code="JobRequeued",
                )
                handled.append(job.id)
        else:
            message = (
                f"The job was interrupted {job.attempts} times because {why}; it is not retried "
                f"again. If it used much memory, make it smaller (area, time range, bands) or "
                f"split it into several jobs, then start it again."
            )
            store.log(job.id, "error", message, code="JobInterrupted")
            if store.transition(
                job.id, ERROR, current=RUNNING, holder=job.runner, finished=utcnow()
            ):
                handled.append(job.id)
    return handled


def expire_results(settings: Settings, store: JobStore, layout: ResultStorage) -> int:
    """Delete results older than ``jobs.retention_days``; returns how many jobs lost theirs."""
    cutoff = utcnow() - timedelta(days=settings.jobs.retention_days)
    count = 0
    for job in store.results_older_than(cutoff):
        if job.result_dir and store.drop_results(job.id, job.result_dir, expired=True):
            layout.remove(job.result_dir)
            count += 1
    return count

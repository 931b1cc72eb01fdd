"""How a run that did not finish is recorded: error, requeue or nothing, and the log saying why.

The runner calls :func:`record_stopped` for every run that ended in an exception or a
cancellation. The order of the checks matters: a budget overrun or a stop through the
API explains the exception that followed it, so they win over the exception itself.
"""

from __future__ import annotations

from typing import Any

from eostation.errors import ServiceUnavailable
from eostation.jobs.cluster import SchedulerLost, lost_scheduler
from eostation.jobs.costs import Usage, costs_of
from eostation.jobs.joblog import JobLogger, describe_failure
from eostation.jobs.model import Job, JobStatus
from eostation.jobs.runwatch import RunWatch
from eostation.jobs.store import JobStore, utcnow

__all__ = ["record_stopped"]

RUNNING, QUEUED, ERROR = JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.ERROR


def record_stopped(
    store: JobStore,
    job: Job,
    exc: BaseException,
    *,
    runner: str,
    watch: RunWatch,
    usage: Usage,
    jlog: JobLogger,
    client: Any,
    shutting_down: bool,
    max_attempts: int,
) -> None:
    """Record how a run of ``job`` on ``runner`` that did not finish ended.

    Args:
        store: The job store.
        job: The job as it was claimed.
        exc: What ended the run.
        runner: The id of the runner that held the job.
        watch: The run's shared state (budget overrun, job lost).
        usage: What the run used so far.
        jlog: The job's log.
        client: The Dask client, or None on the local cluster.
        shutting_down: Whether the runner is being shut down.
        max_attempts: How many runs a job gets (``jobs.max_attempts``).
    """
    costs = costs_of(usage.cpu_seconds, usage.input_pixels, 0)
    common = {"usage": usage.to_api(), "costs": costs, "finished": utcnow()}

    def requeue() -> None:
        store.transition(job.id, QUEUED, current=RUNNING, holder=runner, runner=None, progress=0.0)

    if watch.over_budget.is_set():
        jlog.error(
            f"Stopped: the costs of this job ({costs} credits so far, or estimated) exceed its "
            f"budget of {job.budget} credits. Raise the budget (PATCH the job) or make the "
            f"job smaller, then start it again.",
            code="BudgetExceeded",
        )
        store.transition(job.id, ERROR, current=RUNNING, holder=runner, **common)
    elif watch.lost.is_set():
        # Stopped or deleted through the API, which already set the status.
        jlog.info(f"Run stopped after {usage.duration_seconds:.1f} s (the job was canceled).")
    elif isinstance(exc, SchedulerLost) or lost_scheduler(client):
        # The Dask scheduler went away mid-run: queue the job again, within the attempt limit.
        why = f"Run {job.attempts} lost its Dask scheduler (stopped, restarted or unreachable)"
        if job.attempts < max_attempts:
            jlog.warning(
                f"{why}. The job was queued again (run {job.attempts + 1} of at most "
                f"{max_attempts}); it starts once the scheduler is back.",
                code="JobRequeued",
            )
            requeue()
        else:
            jlog.error(
                f"{why}, and the job has run {max_attempts} times; it is not retried again. "
                "Start it again once the Dask cluster is stable.",
                code="JobInterrupted",
            )
            store.transition(job.id, ERROR, current=RUNNING, holder=runner, **common)
    elif isinstance(exc, ServiceUnavailable):
        # The database stayed locked: not the job's fault, so it runs again later.
        jlog.warning(f"{exc.message} The job was queued again.", code="JobRequeued")
        requeue()
    elif shutting_down:
        jlog.warning("The runner was shut down; the job was queued again.", code="JobRequeued")
        requeue()
    else:
        message, code, path = describe_failure(exc)
        jlog.error(message, code=code, path=path)
        store.transition(job.id, ERROR, current=RUNNING, holder=runner, **common)

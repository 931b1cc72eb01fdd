"""Working with a Dask distributed cluster: worker start-up, job spans, CPU and priorities.

eostation builds no scheduler of its own. A cluster is a ``dask scheduler`` and any
number of Dask workers (``eostation dask-worker``, a thin wrapper around ``dask worker``
with eostation's memory limit and spill directory); the API server and the runners are
its clients. The runner submits each job's graph inside a Dask *span* named after the
job, which lets it:

- count the job's CPU on every worker: each worker meters the thread CPU time of every
  task it runs (``thread-cpu`` in Dask's fine performance metrics, keyed by span), and
  :func:`worker_cpu_seconds` sums that over the workers;
- give the job a priority (:func:`job_priority`): jobs with fewer tasks go first, so a
  user's small job is not stuck behind the queued tasks of another user's big one.

Inputs never travel through the scheduler: the graphs hold only small parameters (the
sources read their pixels inside the tasks, on the workers), and results go from the
workers straight to the runner that writes them.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eostation.config import Settings

__all__ = [
    "ClusterUsage",
    "SchedulerLost",
    "job_priority",
    "lost_scheduler",
    "scheduler_answers",
    "span_cpu_seconds",
    "spill_dir",
    "worker_arguments",
    "worker_cpu_seconds",
]


class SchedulerLost(Exception):
    """The connection to the Dask scheduler broke while a job ran (its tasks are gone)."""


def lost_scheduler(client: Any) -> bool:
    """Whether ``client`` is not connected to its scheduler (reconnecting, or given up)."""
    return client is not None and client.status != "running"


def scheduler_answers(client: Any, timeout: float = 5.0) -> bool:
    """Whether the scheduler answers ``client`` now (a round trip, at most ``timeout`` s).

    An idle client may not have noticed yet that its scheduler died; this asks.
    """
    if lost_scheduler(client):
        return False
    try:
        client.sync(client.scheduler.identity, callback_timeout=timeout)
    except Exception:
        return False
    return True


def spill_dir(settings: Settings) -> Path:
    """Where Dask workers spill to disk: ``dask.spill_dir``, else ``<data dir>/dask-worker-space``."""
    if settings.dask.spill_dir is not None:
        return settings.dask.spill_dir
    return settings.ensure_data_dir() / "dask-worker-space"


def worker_arguments(settings: Settings, scheduler: str, name: str | None = None) -> list[str]:
    """The ``dask worker`` command-line arguments for a worker of ``scheduler``."""
    cfg = settings.dask
    args = [
        scheduler,
        "--nworkers",
        str(cfg.processes),
        "--memory-limit",
        cfg.memory_limit,
        "--local-directory",
        str(spill_dir(settings)),
        "--no-dashboard",
        # Imports the engine in each worker process before it joins: no slow first task.
        "--preload",
        "eostation.jobs.preload",
    ]
    if cfg.threads is not None:
        args += ["--nthreads", str(cfg.threads)]
    if name:
        args += ["--name", name]
    return args


def span_cpu_seconds(digests: Mapping[Hashable, float], span_id: str) -> float:
    """Thread CPU seconds of the tasks of ``span_id`` in one worker's metric digests.

    Workers key the time of each task as ``("execute", span_id, task prefix, activity,
    unit)``; ``thread-cpu`` is the CPU time of the thread that ran the task.
    """
    total = 0.0
    for key, value in digests.items():
        if (
            isinstance(key, tuple)
            and len(key) == 5
            and key[0] == "execute"
            and key[1] == span_id
            and key[3] == "thread-cpu"
            and key[4] == "seconds"
        ):
            total += float(value)
    return total


def _worker_span_cpu(dask_worker: Any, span_id: str) -> float:
    """Runs on each worker (``Client.run``)."""
    return span_cpu_seconds(dask_worker.digests_total, span_id)


def worker_cpu_seconds(client: Any, span_id: str) -> float:
    """CPU seconds that the tasks of span ``span_id`` used on the cluster's live workers.

    A worker lost during the job takes its figures with it; what it computed is usually
    computed again elsewhere and counted there, so this is a lower bound.
    """
    per_worker = client.run(_worker_span_cpu, span_id=span_id, on_error="return")
    return sum(v for v in per_worker.values() if isinstance(v, float))


def job_priority(tasks: int) -> int:
    """Dask priority of a job's tasks: higher for jobs with fewer tasks.

    Priorities go by size class (a power of two of tasks), so jobs of a similar size
    keep Dask's first-come-first-served order among themselves, while a 10-task job
    overtakes the queued tasks of a 10,000-task one instead of waiting for all of them.
    """
    return -math.ceil(math.log2(max(1, tasks)))


class ClusterUsage:
    """The CPU that one job's tasks use on the cluster's workers.

    :meth:`tracking` tags everything submitted inside it with a span named after the
    job; :meth:`cpu_seconds` asks the workers (at most every ``every`` seconds, else the
    last figure) and never fails: while the scheduler is unreachable it keeps the last
    figure.
    """

    def __init__(self, client: Any, job_id: str, every: float = 1.0) -> None:
        self.client = client
        self.job_id = job_id
        self.every = every
        self.span_id: str | None = None
        self._last = 0.0
        self._asked = -math.inf
        self._lock = threading.Lock()

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Submit the job's graphs inside this block."""
        from distributed import span

        with span(f"eostation-job-{self.job_id}") as span_id:
            self.span_id = span_id
            yield

    def cpu_seconds(self, fresh: bool = False) -> float:
        """The job's CPU seconds on the workers so far (``fresh``: ask now)."""
        if self.span_id is None or self.client.status != "running":
            return self._last
        with self._lock:
            if fresh or time.monotonic() - self._asked >= self.every:
                self._asked = time.monotonic()
                with contextlib.suppress(Exception):  # scheduler gone: keep the last figure
                    self._last = max(self._last, worker_cpu_seconds(self.client, self.span_id))
            return self._last

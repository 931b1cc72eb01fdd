"""Batch work at a lower CPU priority than the API (``EOSTATION_JOBS__RUNNER_NICE``).

On a machine that serves the API and runs jobs, both compete for the same cores. A user
polling a job's status waits for the API process to get a core; a job that takes 0.2 s
longer because the API went first costs nobody anything. So runners (and the processes
they start: graph workers, in-process Dask threads) and eostation's Dask workers lower
their own priority with the Unix nice value: the kernel then gives the API a core first
and the jobs every cycle the API leaves idle, so an idle machine loses no throughput.

On Linux a nice value belongs to a thread, and a new thread or process inherits it from
the thread that starts it; :func:`lower_priority` therefore sets it on every thread the
process has, so that threads started earlier (a Dask worker's) are niced too. Dask
workers get it from the runners (:mod:`eostation.jobs.priority_plugin`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["lower_priority"]

_TASKS = Path("/proc/self/task")


def lower_priority(nice: int) -> int:
    """Raise the nice value of this process (all its threads) to at least ``nice``.

    Never lowers it (that needs privileges, and a process started niced by its operator
    stays so). Returns the nice value now in force; ``0`` leaves everything as it is.
    """
    if not hasattr(os, "setpriority"):  # not a Unix: nothing to do
        return 0
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice <= current:
        return current
    tids = [int(t) for t in os.listdir(_TASKS)] if _TASKS.is_dir() else [0]
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    return os.getpriority(os.PRIO_PROCESS, 0)

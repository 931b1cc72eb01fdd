"""The Dask worker plugin that runs every worker of a cluster niced (see :mod:`.priority`).

A module of its own so that importing :mod:`eostation.jobs.priority` (every runner does,
at start) does not import ``distributed``.
"""

from __future__ import annotations

from distributed import Worker
from distributed.diagnostics.plugin import WorkerPlugin

from eostation.jobs.priority import lower_priority

__all__ = ["LowPriority"]


class LowPriority(WorkerPlugin):
    """:func:`~eostation.jobs.priority.lower_priority` in every worker of the cluster.

    Runners register it with their scheduler, so workers started any way (the local
    cluster of ``eostation serve``, ``dask worker``, Kubernetes) run jobs niced, and so
    do workers that join later.
    """

    name = "eostation-low-priority"
    idempotent = True

    def __init__(self, nice: int) -> None:
        self.nice = nice

    def setup(self, worker: Worker) -> None:
        """Called by Dask in each worker process, in its event-loop thread."""
        lower_priority(self.nice)

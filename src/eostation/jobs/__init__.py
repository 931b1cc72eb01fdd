"""Batch jobs: the model and state machine, the SQL store, the runner, results and costs.

Importing this package is cheap (no dask, no SQLAlchemy): the names below are imported on
first use, so that ``eostation run`` (``jobs.local``) does not load the SQL store it never
uses; only :mod:`eostation.jobs.runner` and :mod:`eostation.jobs.execute` pull in the
engine and dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eostation.jobs.model import Job, JobStatus, LogEntry
    from eostation.jobs.store import JobStore

__all__ = ["Job", "JobStatus", "JobStore", "LogEntry"]

_WHERE = {"Job": ".model", "JobStatus": ".model", "LogEntry": ".model", "JobStore": ".store"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Batch jobs: the model and state machine, the SQL store, the runner, results and costs.

Importing this package is cheap (no dask): the API uses the store and the results
layout; only :mod:`eostation.jobs.runner` and :mod:`eostation.jobs.execute` pull in the
engine and dask.
"""

from __future__ import annotations

from eostation.jobs.model import Job, JobStatus, LogEntry
from eostation.jobs.store import JobStore

__all__ = ["Job", "JobStatus", "JobStore", "LogEntry"]

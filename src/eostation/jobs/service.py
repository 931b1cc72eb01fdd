"""What the API does with jobs: one method per openEO endpoint, no HTTP in here."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from eostation.config import Settings
from eostation.engine.graph import parse
from eostation.errors import (
    BillingPlanInvalid,
    BudgetInvalid,
    FileNotFound,
    JobNotFinished,
    NoDataForUpdate,
    ProcessGraphMissing,
    RequestInvalid,
    ResultLinkExpired,
    StorageQuotaExceeded,
)
from eostation.jobs.model import ACTIVE, LOG_LEVELS, Job, JobStatus, LogEntry
from eostation.jobs.objstore import result_storage
from eostation.jobs.results import Signer
from eostation.jobs.store import JobStore, utcnow
from eostation.users import UserStore

__all__ = ["DEFAULT_PLAN", "KNOWN_JOB_OPTIONS", "PLANS", "JobService", "LogPage", "billing_plan"]

KNOWN_JOB_OPTIONS: Final[Mapping[str, str]] = {}
"""Job options eostation uses (none yet: it sizes executors itself)."""

_EDITABLE: Final = ("title", "description", "process", "plan", "budget", "log_level", "job_options")
#: Billing plans (name → description); none is paid, a local server charges nothing.
#: ``free`` is the plan the official openeo-test-suite's job and result payloads name.
PLANS: Final[Mapping[str, str]] = {
    "local": "Self-hosted: costs are computed for transparency, nothing is charged.",
    "free": "Free of charge, like every plan of a self-hosted server (no limits of its own).",
}
DEFAULT_PLAN: Final = "local"


def billing_plan(plan: Any) -> str | None:
    """The plan a request names, as the server spells it (null: the default plan).

    Plan names are case-insensitive (openEO API); an unknown one is
    ``BillingPlanInvalid``, for batch jobs and synchronous requests alike.
    """
    if plan is None:
        return None
    found = next((p for p in PLANS if isinstance(plan, str) and p.lower() == plan.lower()), None)
    if found is None:
        raise BillingPlanInvalid(plan=plan)
    return found


@dataclass(frozen=True)
class LogPage:
    """One page of a job's log."""

    entries: list[LogEntry]
    level: str
    more: bool


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


class JobService:
    """Job operations for one server: validation, quota, results files, signed links."""

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self.layout = result_storage(settings)
        self.signer = Signer(settings.signing_key(), settings.jobs.link_ttl_seconds)
        self.users = UserStore(store.engine)

    # -- validation ---------------------------------------------------------------------

    def _fields(self, body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "process" in body or creating:
            process = body.get("process")
            if not isinstance(process, Mapping) or not isinstance(
                process.get("process_graph"), Mapping
            ):
                raise ProcessGraphMissing()
            if not process["process_graph"]:
                raise ProcessGraphMissing()
            # Structure only (one result node, references, cycles): processes stored later
            # may still be called, but a graph that can never run is refused here.
            parse(process["process_graph"])
            values["process"] = dict(process)
        for key in ("title", "description"):
            if key in body:
                if body[key] is not None and not isinstance(body[key], str):
                    raise RequestInvalid(reason=f"'{key}' must be a string or null")
                values[key] = body[key]
        if "plan" in body:
            values["plan"] = billing_plan(body["plan"])
        if "budget" in body:
            budget = body["budget"]
            if budget is not None and (
                isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0
            ):
                raise BudgetInvalid(reason="it must be a non-negative number or null")
            values["budget"] = None if budget is None else float(budget)
        if "log_level" in body:
            level = body["log_level"] or "info"
            if level not in LOG_LEVELS:
                raise RequestInvalid(reason=f"'log_level' must be one of {', '.join(LOG_LEVELS)}")
            values["log_level"] = level
        if "job_options" in body:
            options = body["job_options"]
            if options is not None and not isinstance(options, Mapping):
                raise RequestInvalid(reason="'job_options' must be an object")
            values["job_options"] = dict(options or {})
        return values

    def _warn_options(self, job: Job) -> None:
        for key in job.job_options:
            if key not in KNOWN_JOB_OPTIONS:
                self.store.log(
                    job.id,
                    "warning",
                    f"Job option '{key}' is not used by eostation and was ignored "
                    "(eostation sizes workers and memory itself).",
                    code="JobOptionIgnored",
                )

    # -- endpoints ----------------------------------------------------------------------

    def create(self, user_id: str, body: Mapping[str, Any]) -> Job:
        """``POST /jobs``."""
        values = self._fields(body, creating=True)
        process = values.pop("process")
        job = self.store.create(user_id, process, **values)
        self._warn_options(job)
        return job

    def list(self, user_id: str, limit: int, offset: int) -> tuple[list[Job], bool]:
        """``GET /jobs``: a page, newest first, and whether more follow."""
        return self.store.list(user_id, limit=limit, offset=offset)

    def get(self, user_id: str, job_id: str) -> Job:
        """``GET /jobs/{id}``."""
        return self.store.get(user_id, job_id)

    def describe(self, user_id: str, job_id: str) -> tuple[Job, str, dict[str, Any]]:
        """``GET /jobs/{id}``: the job (without ``process``), its ``process`` as JSON text
        (:meth:`JobStore.describe`) and, when queued, where it stands and why it waits."""
        job, process, state = self.store.describe(user_id, job_id)
        if state is None:
            return job, process, {}
        position, running = state
        info: dict[str, Any] = {"queue_position": position}
        limit = self.settings.concurrent_jobs
        if running >= limit:
            info["queue_reason"] = (
                f"{limit} of your jobs are running (your limit); this one starts when one ends"
            )
        return job, process, info

    def update(self, user_id: str, job_id: str, body: Mapping[str, Any]) -> None:
        """``PATCH /jobs/{id}`` (``JobLocked`` while queued or running)."""
        unknown = [k for k in body if k not in _EDITABLE]
        values = self._fields(body, creating=False)
        if unknown:
            raise RequestInvalid(reason=f"unknown properties: {', '.join(sorted(unknown))}")
        if not values:
            raise NoDataForUpdate()
        job = self.store.update(user_id, job_id, values)
        if "job_options" in values:
            self._warn_options(job)

    def delete(self, user_id: str, job_id: str) -> None:
        """``DELETE /jobs/{id}``: stops it, removes it with logs and files."""
        self.stop(user_id, job_id)
        self.store.delete(user_id, job_id)
        self.layout.remove_job(job_id)

    def start(self, user_id: str, job_id: str) -> None:
        """``POST /jobs/{id}/results``: queue the job (no effect when queued or running)."""
        job = self.store.get(user_id, job_id)
        if job.status in ACTIVE:
            return
        quota = self.settings.jobs.storage_quota_bytes
        if quota is not None:
            used = self.store.storage_used(user_id) - job.result_bytes
            if used >= quota:
                raise StorageQuotaExceeded(quota=_fmt_bytes(quota))
        old = job.result_dir
        moved = self.store.transition(
            job.id,
            JobStatus.QUEUED,
            current=job.status,
            progress=0.0,
            started=None,
            finished=None,
            result_dir=None,
            results=None,
            result_bytes=0,
            results_expired=False,
        )
        if moved:
            # Restarting discards the previous results (openEO API, start-job).
            self.layout.remove(old)
            self.store.log(job.id, "info", "Job queued.")

    def stop(self, user_id: str, job_id: str) -> None:
        """``DELETE /jobs/{id}/results``: a queued or running job becomes ``canceled``."""
        job = self.store.get(user_id, job_id)
        if job.status not in ACTIVE:
            return
        if self.store.transition(job.id, JobStatus.CANCELED, current=job.status, finished=utcnow()):
            self.store.log(job.id, "info", f"Job canceled by the user (it was {job.status}).")
            return
        # It moved on meanwhile (e.g. queued -> running): try once more from the new state.
        job = self.store.get(user_id, job_id)
        if job.status in ACTIVE and self.store.transition(
            job.id, JobStatus.CANCELED, current=job.status, finished=utcnow()
        ):
            self.store.log(job.id, "info", f"Job canceled by the user (it was {job.status}).")

    def results(self, user_id: str, job_id: str) -> Job:
        """The job, if its results can be listed (``JobNotFinished`` otherwise)."""
        job = self.store.get(user_id, job_id)
        if job.status is not JobStatus.FINISHED:
            if job.status is JobStatus.ERROR:
                last = self.store.logs(job.id, min_level="error", limit=1000)[0]
                reason = f" The job failed: {last[-1].message}" if last else ""
                raise JobNotFinished(
                    message=f"Batch job '{job_id}' has no results (status: error).{reason}"
                )
            raise JobNotFinished(identifier=job_id, status=job.status.value)
        if job.results_expired or not job.result_dir:
            raise ResultLinkExpired(
                message=(
                    f"The results of job '{job_id}' were deleted after the retention period of "
                    f"{self.settings.jobs.retention_days:g} days. Start the job again to recompute them."
                )
            )
        return job

    def results_expire(self, job: Job) -> str | None:
        """When the stored results of ``job`` will be deleted (RFC 3339)."""
        if job.finished is None:
            return None
        when = job.finished + timedelta(days=self.settings.jobs.retention_days)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def logs(
        self, user_id: str, job_id: str, *, offset: str | None, level: str | None, limit: int
    ) -> LogPage:
        """``GET /jobs/{id}/logs``: entries after ``offset`` at the effective minimum level."""
        job = self.store.get(user_id, job_id)
        requested = (level or "debug").lower()
        if requested not in LOG_LEVELS:
            raise RequestInvalid(reason=f"'level' must be one of {', '.join(LOG_LEVELS)}")
        effective = max(requested, job.log_level, key=LOG_LEVELS.index)
        after: int | None = None
        if offset:
            # isdigit() alone accepts '²' and other Unicode digits that int() refuses.
            if not (offset.isascii() and offset.isdigit() and len(offset) <= 18):
                raise RequestInvalid(reason="'offset' must be the id of a log entry")
            after = int(offset)
        entries, more = self.store.logs(job.id, after=after, min_level=effective, limit=limit)
        return LogPage(entries, effective, more)

    def _link_binding(self, job: Job) -> str:
        # A re-run publishes a new r-<token> directory; a removed account changes its stamp.
        run = Path(job.result_dir).name if job.result_dir else ""
        return f"{run}\n{self.users.token_stamp(job.user_id) or ''}"

    def link_signer(self, job: Job, now: float | None = None) -> Callable[[str], tuple[int, str]]:
        """``name -> (expires, signature)`` of download links to the result files of ``job``."""
        binding = self._link_binding(job)  # one look-up for all the job's files
        return lambda name: self.signer.sign(job.id, name, binding, now=now)

    def asset_file(self, job_id: str, name: str, expires: int, signature: str) -> tuple[Job, Path]:
        """The file behind a signed download link (``ResultLinkExpired``, ``FileNotFound``).

        Links are bound to the run and the owner's account (:meth:`link_signer`): after a
        re-run, or once the account is removed, they answer ``FileNotFound``.
        """
        job = self.store.find(job_id)
        if job is None or not self.signer.valid(
            job_id, name, expires, signature, self._link_binding(job)
        ):
            raise FileNotFound(file=name)
        if expires < time.time():
            raise ResultLinkExpired()
        path = self.layout.file(job, name)
        if path is None or job.status is not JobStatus.FINISHED:
            raise FileNotFound(file=name)
        return job, path

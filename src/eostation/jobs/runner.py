"""The job runner: claims queued jobs, runs them through the engine, records the outcome.

Runners are separate processes (``eostation worker``; ``eostation serve --runners N``
starts N of them) that share only the database and the Dask cluster with the API, so
any number of them can run on any number of machines. One runner runs one job at a
time. While it runs a job, a heartbeat thread writes progress every
``jobs.heartbeat_seconds``; when the write finds that the runner no longer holds the
job (stopped or deleted through the API), the Dask work is cancelled.

Crash safety: every runner periodically looks for running jobs whose runner is gone
(no heartbeat for ``jobs.stale_after_seconds``, or, on the same machine, whose process
no longer exists). Such a job is requeued up to ``jobs.max_attempts`` runs, then marked
``error`` with a log entry saying why (:mod:`eostation.jobs.recovery`). Results are
published atomically (:mod:`eostation.jobs.results`), so an interrupted run leaves
nothing to serve; how a run that did not finish is recorded is in
:mod:`eostation.jobs.outcome`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from eostation.config import Settings
from eostation.engine.limits import EngineLimits
from eostation.jobs import execute
from eostation.jobs.cluster import ClusterUsage, lost_scheduler, scheduler_answers
from eostation.jobs.costs import Usage, costs_of
from eostation.jobs.joblog import JobLogger
from eostation.jobs.model import Job, JobStatus
from eostation.jobs.objstore import result_storage
from eostation.jobs.outcome import record_stopped
from eostation.jobs.recovery import expire_results, recover_jobs
from eostation.jobs.results import asset_records, zip_stores
from eostation.jobs.runwatch import RunWatch, rss_mb, runner_id
from eostation.jobs.store import JobStore, utcnow
from eostation.outbound import OutboundPolicy
from eostation.users import UserStore

if TYPE_CHECKING:
    from eostation.data.registry import CollectionRegistry
    from eostation.engine.registry import ProcessRegistry
    from eostation.formats.registry import FormatRegistry
    from eostation.udps import UdpStore

__all__ = ["Runner", "runner_id"]

log = logging.getLogger("eostation.jobs.runner")

RUNNING, QUEUED = JobStatus.RUNNING, JobStatus.QUEUED
FINISHED = JobStatus.FINISHED


class Runner:
    """Claims and executes jobs; see the module docs."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        *,
        registry: ProcessRegistry | None = None,
        collections: CollectionRegistry | None = None,
        formats: FormatRegistry | None = None,
        client: Any = None,
        udps: UdpStore | None = None,
        ident: str | None = None,
    ) -> None:
        from eostation.data.registry import build_registry
        from eostation.engine.registry import default_registry
        from eostation.formats.registry import default_formats

        self.settings = settings
        self.store = store
        self.id = ident or runner_id()
        self.registry = registry if registry is not None else default_registry().load_all()
        self.collections = (
            collections
            if collections is not None
            else build_registry(
                settings.data_dir, OutboundPolicy.from_settings(settings), settings.storage.options
            )
        )
        self.formats = formats if formats is not None else default_formats()
        self.client = client
        if udps is None:
            from eostation.udps import UdpStore

            udps = UdpStore(store.engine)
        self.udps = udps
        self.layout = result_storage(settings)
        self.shutdown = threading.Event()
        self._last_maintenance = 0.0
        self._current: str | None = None

    # -- loop ---------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Claim and run jobs until ``stop`` (or :attr:`shutdown`) is set."""
        stop = stop or self.shutdown
        cfg = self.settings.jobs
        failures = 0
        while not stop.is_set() and not self.shutdown.is_set():
            if self.client is not None and self.client.status in ("closed", "failed"):
                # The client gave up reconnecting: exit, to be started again with a new one.
                log.error("runner %s lost its Dask scheduler for good; stopping", self.id)
                return
            try:
                if time.monotonic() - self._last_maintenance > max(1.0, cfg.heartbeat_seconds):
                    self.maintain()
                idle = self.run_once() is None
                failures = 0
            except Exception:
                # A locked or unreachable database must not end the runner: a standalone
                # `eostation worker` has no supervisor to start it again.
                failures += 1
                wait = min(30.0, cfg.poll_seconds * 2**failures)
                log.exception(
                    "runner loop failed (%d in a row); retrying in %.1f s", failures, wait
                )
                stop.wait(wait)
                continue
            if idle:
                stop.wait(cfg.poll_seconds)

    def maintain(self) -> None:
        """Recover jobs of dead runners and delete expired results."""
        self._last_maintenance = time.monotonic()
        try:
            self.recover()
            self.expire_results()
        except Exception:
            log.exception("job maintenance failed")

    def run_once(self) -> str | None:
        """Claim one queued job and run it to its end; returns its id, or None if none waited."""
        if lost_scheduler(self.client):
            return None  # no job is claimed while the Dask scheduler is unreachable
        job = self.store.claim(self.id, self.settings.concurrent_jobs)
        if job is None:
            return None
        if self.client is not None and not scheduler_answers(self.client):
            # Claimed in the moment the scheduler died, before the client noticed: give the
            # job back, without counting the run, rather than fail it on the lost cluster.
            self.store.transition(
                job.id,
                QUEUED,
                current=RUNNING,
                holder=self.id,
                runner=None,
                attempts=job.attempts - 1,
                queued_at=job.queued_at,
            )
            return None
        self._current = job.id
        try:
            self._run(job)
        finally:
            self._current = None
        return job.id

    # -- recovery -----------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Requeue (or fail) running jobs whose runner died; returns their ids."""
        return recover_jobs(
            self.settings, self.store, self.layout, runner=self.id, current=self._current
        )

    def expire_results(self) -> int:
        """Delete results older than the retention period; returns how many."""
        return expire_results(self.settings, self.store, self.layout)

    # -- one job ------------------------------------------------------------------------

    def _heartbeat(self, job: Job, watch: RunWatch, done: threading.Event) -> None:
        interval = self.settings.jobs.heartbeat_seconds
        while not done.wait(interval):
            watch.peak_mb = max(watch.peak_mb, rss_mb())
            try:
                held = self.store.heartbeat(job.id, self.id, round(watch.progress, 1))
            except Exception:
                # Database locked for longer than the busy budget: skip this beat, keep running.
                log.warning("heartbeat of job %s failed; trying again", job.id, exc_info=True)
                continue
            if not held:
                watch.lost.set()
                watch.cancel.set()
                return
            if job.budget is not None and costs_of(watch.cpu(), watch.input_pixels, 0) > job.budget:
                watch.over_budget.set()
                watch.cancel.set()
                return
            if self.shutdown.is_set():
                watch.cancel.set()

    def _run(self, job: Job) -> None:
        jlog = JobLogger(self.store, job.id)
        watch = RunWatch(peak_mb=rss_mb())
        started = time.monotonic()
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, watch, done), daemon=True)
        beat.start()
        tmp = self.layout.new_tmp(job.id)
        try:
            jlog.info(f"Job started on runner {self.id} (run {job.attempts}).")
            outcome = self._compute(job, tmp, watch, jlog)
            usage = self._usage(watch, started, sum(a["file:size"] for a in outcome.values()))
            costs = costs_of(usage.cpu_seconds, usage.input_pixels, usage.output_bytes)
            metadata = {
                "job_id": job.id,
                "assets": outcome,
                "usage": usage.to_api(),
                "costs": costs,
            }
            # Still inside the heartbeat: an upload retrying through a storage outage must
            # not look like a dead runner to the others.
            final = self.layout.publish(tmp, metadata)
        except BaseException as exc:
            done.set()
            self.layout.remove(tmp)
            record_stopped(
                self.store,
                job,
                exc,
                runner=self.id,
                watch=watch,
                usage=self._usage(watch, started, 0),
                jlog=jlog,
                client=self.client,
                shutting_down=self.shutdown.is_set(),
                max_attempts=self.settings.jobs.max_attempts,
            )
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            done.set()
            beat.join()
        finished = self.store.transition(
            job.id,
            FINISHED,
            current=RUNNING,
            holder=self.id,
            progress=100.0,
            finished=utcnow(),
            result_dir=str(final),
            results=outcome,
            result_bytes=usage.output_bytes,
            results_expired=False,
            usage=usage.to_api(),
            costs=costs,
        )
        if not finished:
            self.layout.remove(final)
            return
        jlog.info(
            f"Job finished in {usage.duration_seconds:.2f} s: {len(outcome)} file(s), "
            f"{usage.output_bytes} bytes, {usage.cpu_seconds:.2f} CPU seconds, costs {costs} credits.",
            usage=usage.to_api(),
        )

    def _compute(self, job: Job, tmp: Any, watch: RunWatch, jlog: JobLogger) -> dict[str, Any]:
        def progress(value: float) -> None:
            watch.progress = max(watch.progress, value)

        def cancelled() -> bool:  # shutdown too, at once: not only at the next heartbeat
            return watch.cancel.is_set() or self.shutdown.is_set()

        run = execute.evaluate_lazily(
            job.process,
            registry=self.registry,
            formats=self.formats,
            collections=self.collections,
            log=jlog.engine_sink,
            cancelled=cancelled,
            user_id=job.user_id,
            udp=lambda pid: self.udps.get(job.user_id, pid),
            load_result=lambda other: execute.load_finished_job(
                self.store, self.formats, job.user_id, other, local_dir=self.layout.local_dir
            ),
            limits=EngineLimits.from_settings(
                self.settings, accounts=UserStore(self.store.engine).count()
            ),
            job_files=lambda other: execute.finished_job_files(
                self.store, job.user_id, other, local_dir=self.layout.local_dir
            ),
        )
        watch.input_pixels = run.input_pixels
        estimate = costs_of(run.input_pixels / 20e6, run.input_pixels, run.output_nbytes)
        formats = ", ".join(o.format for o in run.outputs)
        jlog.info(
            f"Inputs resolved: {run.input_pixels} input pixels, {len(run.outputs)} output(s) "
            f"({formats}), about {run.output_nbytes / 1e6:.2f} MB before compression; "
            f"estimated costs {estimate} credits.",
            data={"input_pixels": run.input_pixels, "output_bytes_estimate": run.output_nbytes},
        )
        if job.budget is not None and estimate > job.budget:
            watch.over_budget.set()
            raise execute.Cancelled()
        if self.client is not None:
            watch.cluster = ClusterUsage(self.client, job.id, self.settings.jobs.heartbeat_seconds)
        with watch.cluster.tracking() if watch.cluster else contextlib.nullcontext():
            execute.write_outputs(
                run,
                tmp,
                formats=self.formats,
                progress=progress,
                cancelled=cancelled,
                client=self.client,
                on_file=lambda f: jlog.info(f"Wrote {f.name} ({f.media_type})."),
            )
        return asset_records(zip_stores(run.files))

    def _usage(self, watch: RunWatch, started: float, output_bytes: int) -> Usage:
        return Usage(
            cpu_seconds=watch.cpu(fresh=True),
            peak_memory_mb=max(watch.peak_mb, rss_mb()),
            duration_seconds=time.monotonic() - started,
            input_pixels=watch.input_pixels,
            output_bytes=output_bytes,
        )

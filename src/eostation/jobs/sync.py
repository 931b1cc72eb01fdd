"""Synchronous processing (``POST /result``) without HTTP: :class:`SyncService`.

The service does everything but the transport: it checks the request body, opens the
request's log (the ``monitor`` link), evaluates the graph under the synchronous
deadline and pixel limit, writes the outputs into a fresh temporary folder, bundles
them into one file and works out the costs. The route streams :attr:`SyncResult.path`
and calls :meth:`SyncResult.discard` once it is sent; whoever calls
:meth:`SyncService.process` passes ``cancelled`` (the client went away).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eostation.config import Settings
from eostation.data.registry import CollectionRegistry
from eostation.engine.context import Cancelled
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry
from eostation.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphMissing,
    RequestTimeout,
)
from eostation.formats.output import bundle
from eostation.formats.registry import FormatRegistry
from eostation.jobs.costs import costs_of
from eostation.jobs.execute import (
    evaluate_lazily,
    finished_job_files,
    load_finished_job,
    write_outputs,
)
from eostation.jobs.joblog import describe_failure, json_data
from eostation.jobs.objstore import result_storage
from eostation.jobs.service import billing_plan
from eostation.jobs.store import JobStore
from eostation.jobs.synclogs import SyncLogs
from eostation.udps import UdpStore

__all__ = ["SyncResult", "SyncService"]

_LEVELS = ("error", "warning", "info", "debug")


def _levels(minimum: str) -> set[str]:
    """The log levels kept for ``log_level = minimum`` (all of them for an unknown one)."""
    return set(_LEVELS[: _LEVELS.index(minimum) + 1]) if minimum in _LEVELS else set(_LEVELS)


@dataclass(frozen=True)
class SyncResult:
    """The one file a synchronous request returns, and what it cost.

    ``path`` lies inside ``directory``, a temporary folder of this request only;
    :meth:`discard` removes it (after the file was sent).
    """

    path: Path
    media_type: str
    directory: Path
    costs: float

    def discard(self) -> None:
        """Remove the request's temporary folder and the file in it."""
        shutil.rmtree(self.directory, ignore_errors=True)


class SyncService:
    """``POST /result`` as a service: a request body in, one result file out.

    ``limits()`` gives the engine limits of a run now (they depend on the number of
    accounts); ``logs`` keeps each request's log for ``GET /result/logs/{id}``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        processes: ProcessRegistry,
        collections: CollectionRegistry,
        formats: FormatRegistry,
        limits: Callable[[], EngineLimits],
        store: JobStore,
        udps: UdpStore,
        logs: SyncLogs,
    ) -> None:
        self.settings = settings
        self.processes = processes
        self.collections = collections
        self.formats = formats
        self.limits = limits
        self.store = store
        self.udps = udps
        self.logs = logs
        self.results = result_storage(settings)

    def process(
        self,
        body: Mapping[str, Any],
        *,
        user_id: str,
        request_id: str,
        cancelled: Callable[[], bool],
    ) -> SyncResult:
        """Run the graph of a ``POST /result`` body and return its result file.

        Raises ``ProcessGraphMissing`` without a graph, the billing-plan error for an
        unknown ``plan``, ``ProcessGraphComplexity`` above ``sync_max_pixels``,
        ``RequestTimeout`` once ``sync_timeout_seconds`` have passed or ``cancelled()``
        turned True, and whatever the graph raises; each failure is logged under
        ``request_id`` and leaves no temporary files behind.
        """
        process = body.get("process")
        if not isinstance(process, Mapping) or not isinstance(
            process.get("process_graph"), Mapping
        ):
            raise ProcessGraphMissing()
        billing_plan(body.get("plan"))  # refused as in POST /jobs; nothing is charged anyway
        settings = self.settings
        entries = self.logs.open(request_id, user_id)
        keep = _levels(str(body.get("log_level") or "info"))

        def log(level: str, message: str, data: Any) -> None:
            if level in keep:
                self.logs.entry(
                    entries, level, message, data=None if data is None else json_data(data)
                )

        deadline = time.monotonic() + settings.sync_timeout_seconds

        def stopped() -> bool:
            return cancelled() or time.monotonic() > deadline

        started = time.process_time()
        tmp_root = settings.ensure_data_dir() / "tmp"
        tmp_root.mkdir(exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="sync-", dir=tmp_root))
        try:
            try:
                run = evaluate_lazily(
                    process,
                    registry=self.processes,
                    limits=self.limits(),
                    formats=self.formats,
                    collections=self.collections,
                    log=log,
                    cancelled=stopped,
                    user_id=user_id,
                    udp=lambda pid: self.udps.get(user_id, pid),
                    load_result=lambda job_id: load_finished_job(
                        self.store,
                        self.formats,
                        user_id,
                        job_id,
                        local_dir=self.results.local_dir,
                    ),
                    job_files=lambda job_id: finished_job_files(
                        self.store, user_id, job_id, local_dir=self.results.local_dir
                    ),
                )
                if run.input_pixels > settings.sync_max_pixels:
                    raise ProcessGraphComplexity(
                        reason=f"it reads {run.input_pixels:,} pixels, the limit for "
                        f"synchronous requests is {settings.sync_max_pixels:,}"
                    )
                write_outputs(
                    run,
                    directory,
                    formats=self.formats,
                    progress=lambda _p: None,
                    cancelled=stopped,
                )
            except Cancelled:  # one signal for the evaluation and the writers
                raise RequestTimeout(seconds=settings.sync_timeout_seconds) from None
            result = bundle(run.files, directory)
        except OpenEOError as exc:
            message, code, path = describe_failure(exc)
            self.logs.entry(entries, "error", message, code=code, path=path)
            shutil.rmtree(directory, ignore_errors=True)
            raise
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        size = result.path.stat().st_size
        log("info", f"Result: {result.path.name} ({size:,} bytes)", None)
        costs = costs_of(time.process_time() - started, run.input_pixels, size)
        return SyncResult(result.path, result.media_type, directory, costs)

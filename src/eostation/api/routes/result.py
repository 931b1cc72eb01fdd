"""Synchronous processing: ``POST /result`` and the logs it links to."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from eostation.api.deps import CurrentUser, ServicesDep, api_url
from eostation.errors import (
    NotFound,
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphMissing,
    RequestTimeout,
)
from eostation.formats.output import bundle
from eostation.jobs.costs import costs_of
from eostation.jobs.execute import (
    Cancelled,
    evaluate_lazily,
    finished_job_files,
    load_finished_job,
    write_outputs,
)
from eostation.jobs.joblog import describe_failure, json_data

__all__ = ["router"]

router = APIRouter()


def _levels(minimum: str) -> set[str]:
    order = ["error", "warning", "info", "debug"]
    return set(order[: order.index(minimum) + 1]) if minimum in order else set(order)


@router.post("/result", summary="Process and download data synchronously")
def process_sync(
    request: Request,
    body: Annotated[dict[str, Any], Body()],
    user: CurrentUser,
    services: ServicesDep,
) -> FileResponse:
    """Run a process graph and return its result file (or, without ``save_result``, its value as JSON)."""
    process = body.get("process")
    if not isinstance(process, Mapping) or not isinstance(process.get("process_graph"), Mapping):
        raise ProcessGraphMissing()
    settings = services.settings
    rid: str = request.state.request_id
    entries = services.sync_logs.open(rid, user.user_id)
    keep = _levels(str(body.get("log_level") or "info"))

    def log(level: str, message: str, data: Any) -> None:
        if level in keep:
            services.sync_logs.entry(
                entries, level, message, data=None if data is None else json_data(data)
            )

    deadline = time.monotonic() + settings.sync_timeout_seconds
    started = time.process_time()
    tmp_root = settings.ensure_data_dir() / "tmp"
    tmp_root.mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="sync-", dir=tmp_root))
    try:
        run = evaluate_lazily(
            process,
            registry=services.processes,
            collections=services.collections,
            log=log,
            cancelled=lambda: time.monotonic() > deadline,
            user_id=user.user_id,
            udp=lambda pid: services.udps.get(user.user_id, pid),
            load_result=lambda job_id: load_finished_job(
                services.jobs.store, services.formats, user.user_id, job_id
            ),
            job_files=lambda job_id: finished_job_files(services.jobs.store, user.user_id, job_id),
            options={"udf_enabled": settings.udf_enabled(services.users.count())},
        )
        if run.input_pixels > settings.sync_max_pixels:
            raise ProcessGraphComplexity(
                reason=f"it reads {run.input_pixels:,} pixels, the limit for synchronous requests is "
                f"{settings.sync_max_pixels:,}"
            )
        try:
            write_outputs(
                run,
                directory,
                formats=services.formats,
                progress=lambda _p: None,
                cancelled=lambda: time.monotonic() > deadline,
            )
        except Cancelled:
            raise RequestTimeout(seconds=settings.sync_timeout_seconds) from None
        result = bundle(run.files, directory)
    except OpenEOError as exc:
        message, code, path = describe_failure(exc)
        services.sync_logs.entry(entries, "error", message, code=code, path=path)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    size = result.path.stat().st_size
    log("info", f"Result: {result.path.name} ({size:,} bytes)", None)
    costs = costs_of(time.process_time() - started, run.input_pixels, size)
    headers = {
        "OpenEO-Costs": str(costs),
        "Link": f'<{api_url(request, services, f"/result/logs/{rid}")}>; rel="monitor"',
    }
    return FileResponse(
        result.path,
        media_type=result.media_type,
        filename=result.path.name,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, directory, ignore_errors=True),
    )


@router.get("/result/logs/{request_id}", include_in_schema=False)
def sync_logs(request_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The log of one of your synchronous requests (the ``monitor`` link of ``POST /result``)."""
    entries = services.sync_logs.get(request_id, user.user_id)
    if entries is None:
        raise NotFound(path=f"/result/logs/{request_id}")
    return {"logs": entries, "links": []}

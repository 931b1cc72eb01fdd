"""Synchronous processing: ``POST /result`` and the logs it links to."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from eostation.api.deps import CurrentUser, Services, ServicesDep, api_url
from eostation.api.heavy import ClientGone
from eostation.api.ratelimit import limit_sync_processing
from eostation.errors import (
    NotFound,
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphMissing,
    RequestTimeout,
)
from eostation.formats.output import bundle
from eostation.jobs.costs import costs_of
from eostation.jobs.execute import Cancelled, evaluate_lazily, load_finished_job, write_outputs
from eostation.jobs.joblog import describe_failure, json_data
from eostation.jobs.service import billing_plan
from eostation.users import User

__all__ = ["router"]

router = APIRouter()


def _levels(minimum: str) -> set[str]:
    order = ["error", "warning", "info", "debug"]
    return set(order[: order.index(minimum) + 1]) if minimum in order else set(order)


@router.post(
    "/result",
    summary="Process and download data synchronously",
    dependencies=[Depends(limit_sync_processing)],
)
async def process_sync(
    request: Request,
    body: Annotated[dict[str, Any], Body()],
    user: CurrentUser,
    services: ServicesDep,
) -> Response:
    """Run a process graph and return its result file (or, without ``save_result``, its value as JSON).

    The work runs in the engine pool (:mod:`eostation.api.heavy`) and stops when the
    client disconnects or the synchronous timeout passes.
    """
    try:
        return await services.heavy.run(
            request, lambda gone: _process(request, body, user, services, gone)
        )
    except ClientGone:
        return Response(status_code=499)  # nobody reads it: the client has gone


def _process(
    request: Request,
    body: dict[str, Any],
    user: User,
    services: Services,
    gone: Callable[[], bool],
) -> FileResponse:
    process = body.get("process")
    if not isinstance(process, Mapping) or not isinstance(process.get("process_graph"), Mapping):
        raise ProcessGraphMissing()
    billing_plan(body.get("plan"))  # refused as in POST /jobs; nothing is charged anyway
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
        try:
            run = evaluate_lazily(
                process,
                registry=services.processes,
                limits=services.limits(),
                formats=services.formats,
                collections=services.collections,
                log=log,
                cancelled=lambda: gone() or time.monotonic() > deadline,
                user_id=user.user_id,
                udp=lambda pid: services.udps.get(user.user_id, pid),
                load_result=lambda job_id: load_finished_job(
                    services.jobs.store, services.formats, user.user_id, job_id
                ),
            )
            if run.input_pixels > settings.sync_max_pixels:
                raise ProcessGraphComplexity(
                    reason=f"it reads {run.input_pixels:,} pixels, the limit for synchronous "
                    f"requests is {settings.sync_max_pixels:,}"
                )
            write_outputs(
                run,
                directory,
                formats=services.formats,
                progress=lambda _p: None,
                cancelled=lambda: gone() or time.monotonic() > deadline,
            )
        except Cancelled:  # one signal for the evaluation and the writers
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

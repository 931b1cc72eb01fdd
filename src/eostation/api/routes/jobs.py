"""Batch jobs: ``/jobs``, ``/jobs/{id}``, results, logs, estimate, and signed downloads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from eostation.api.deps import CurrentUser, Services, ServicesDep, api_url, current_user
from eostation.api.heavy import ClientGone
from eostation.api.ratelimit import limit_job_creation
from eostation.errors import NotFound
from eostation.jobs.model import Job, JobStatus, LogEntry

__all__ = ["router"]

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=10_000)]
# Above this no page can exist, and the database's 64-bit integers are never reached.
MAX_OFFSET = 1_000_000_000


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _job_json(
    job: Job,
    request: Request,
    services: Services,
    *,
    full: bool,
    queue: dict[str, Any] | None = None,
) -> dict[str, Any]:
    base = api_url(request, services, f"/jobs/{job.id}")
    out: dict[str, Any] = {
        "id": job.id,
        "title": job.title,
        "description": job.description,
        "status": job.status.value,
        "created": _ts(job.created),
        "updated": _ts(job.updated),
        "plan": job.plan or "local",
        "budget": job.budget,
        "log_level": job.log_level,
    }
    if job.status is JobStatus.FINISHED:
        out["progress"] = 100.0
    elif job.status is JobStatus.QUEUED:
        out["progress"] = 0.0
    elif job.progress is not None and job.status is not JobStatus.CREATED:
        out["progress"] = round(job.progress, 1)
    if job.costs is not None:
        out["costs"] = job.costs
    if job.usage:
        out["usage"] = job.usage
    if not full:
        return out
    out["process"] = job.process
    out["started"] = _ts(job.started)
    out["finished"] = _ts(job.finished)
    out["attempts"] = job.attempts
    if job.job_options:
        out["job_options"] = job.job_options
    out.update(queue or {})
    out["links"] = [
        {"rel": "monitor", "href": base + "/logs", "type": "application/json", "title": "Logs"},
    ]
    if job.status is JobStatus.FINISHED:
        out["links"].append(
            {"rel": "result", "href": base + "/results", "type": "application/json"}
        )
    return out


@router.get("/jobs", summary="List all batch jobs")
def list_jobs(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Your jobs, newest first; ``limit`` per page with a ``next`` link."""
    jobs, more = services.jobs.list(user.user_id, limit, offset)
    links = []
    if more:
        query = urlencode({"limit": limit, "offset": offset + limit})
        links.append(
            {
                "rel": "next",
                "href": api_url(request, services, f"/jobs?{query}"),
                "type": "application/json",
            }
        )
    return {"jobs": [_job_json(j, request, services, full=False) for j in jobs], "links": links}


@router.post(
    "/jobs",
    status_code=201,
    summary="Create a new batch job",
    dependencies=[Depends(limit_job_creation)],
)
def create_job(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    """Store a job in status ``created``; returns its URL in ``Location``."""
    job = services.jobs.create(user.user_id, body)
    return Response(
        status_code=201,
        headers={
            "Location": api_url(request, services, f"/jobs/{job.id}"),
            "OpenEO-Identifier": job.id,
        },
    )


@router.get(
    "/jobs/{job_id}",
    summary="Full metadata for a batch job",
    response_model=dict[str, Any],
)
async def describe_job(job_id: str, request: Request, services: ServicesDep) -> Response:
    """Status, progress, process graph, costs, usage and, when queued, the queue position.

    What clients poll, so it is kept cheap for the API process: one trip through the
    thread pool, not two (the user is authenticated in the thread that reads the job; a
    ``CurrentUser`` dependency would run in a thread of its own first, and under load
    each trip waits for the GIL), and the answer is encoded in that thread, with the
    process graph copied in as the JSON text stored, never parsed and encoded again
    (FastAPI would encode the returned object in the event loop, which every request of
    the replica waits for).
    """

    def work() -> bytes:
        user = current_user(request, services)
        job, process, queue = services.jobs.describe(user.user_id, job_id)
        doc = _job_json(job, request, services, full=True, queue=queue)
        del doc["process"]
        text = json.dumps(doc, separators=(",", ":"))
        return f'{text[:-1]},"process":{process}}}'.encode()

    body = await run_in_threadpool(work)
    return Response(body, media_type="application/json")


@router.patch("/jobs/{job_id}", status_code=204, summary="Modify a batch job")
def update_job(
    job_id: str,
    user: CurrentUser,
    services: ServicesDep,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    """Change title, description, process, plan, budget, log level or job options."""
    services.jobs.update(user.user_id, job_id, body)
    return Response(status_code=204)


@router.delete("/jobs/{job_id}", status_code=204, summary="Delete a batch job")
def delete_job(job_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    """Stop the job if needed and delete it with its logs and results."""
    services.jobs.delete(user.user_id, job_id)
    return Response(status_code=204)


@router.get("/jobs/{job_id}/estimate", summary="Get an estimate for a batch job")
async def estimate_job(
    request: Request, job_id: str, user: CurrentUser, services: ServicesDep
) -> Any:
    """Predicted costs (credits), duration and output size, before running.

    The dry run happens in a worker process (:mod:`eostation.jobs.graphpool`), killed
    when the client disconnects.
    """
    # The stored JSON text, parsed only in the worker (see JobStore.process_text).
    process = await asyncio.to_thread(services.jobs.store.process_text, user.user_id, job_id)
    task = {"task": "estimate", "user_id": user.user_id}
    try:
        return await services.heavy.in_process(
            request, task, process, udp=lambda pid: services.udps.get(user.user_id, pid)
        )
    except ClientGone:
        return Response(status_code=499)  # nobody reads it: the client has gone


def _log_json(entry: LogEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(entry.id),
        "level": entry.level,
        "message": entry.message,
        "time": _ts(entry.time),
    }
    if entry.code:
        out["code"] = entry.code
    if entry.data is not None:
        out["data"] = entry.data
    if entry.path:
        out["path"] = entry.path
    if entry.usage:
        out["usage"] = entry.usage
    return out


@router.get("/jobs/{job_id}/logs", summary="Logs for a batch job")
def job_logs(
    job_id: str,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    offset: str | None = None,
    level: str | None = None,
    limit: Limit = 1000,
) -> dict[str, Any]:
    """Entries after ``offset`` (the last id you received) at ``level`` or more severe."""
    page = services.jobs.logs(user.user_id, job_id, offset=offset, level=level, limit=limit)
    links = []
    if page.more and page.entries:
        query = {"offset": str(page.entries[-1].id), "limit": limit, "level": page.level}
        links.append(
            {
                "rel": "next",
                "href": api_url(request, services, f"/jobs/{job_id}/logs?{urlencode(query)}"),
                "type": "application/json",
            }
        )
    return {"level": page.level, "logs": [_log_json(e) for e in page.entries], "links": links}


@router.post("/jobs/{job_id}/results", status_code=202, summary="Start processing a batch job")
def start_job(job_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    """Queue the job; a runner starts it as soon as your concurrency limit allows."""
    services.jobs.start(user.user_id, job_id)
    return Response(status_code=202)


@router.delete("/jobs/{job_id}/results", status_code=204, summary="Cancel processing a batch job")
def stop_job(job_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    """Stop a queued or running job; it ends ``canceled`` within seconds."""
    services.jobs.stop(user.user_id, job_id)
    return Response(status_code=204)


def _signed_links(request: Request, services: Services, job: Job) -> Callable[[str], str]:
    """``name -> signed download URL`` of a job's result files (bound to this run and owner)."""
    sign = services.jobs.link_signer(job)

    def href(name: str) -> str:
        expires, signature = sign(name)
        return api_url(request, services, f"/jobs/{job.id}/results/{expires}/{signature}/{name}")

    return href


@router.get("/jobs/{job_id}/results", summary="List batch job results")
def job_results(
    job_id: str, request: Request, user: CurrentUser, services: ServicesDep
) -> Response:
    """A STAC Collection whose ``assets`` are signed, expiring download links."""
    from fastapi.responses import JSONResponse

    from eostation.jobs.results import stac_results

    jobs = services.jobs
    job = jobs.results(user.user_id, job_id)
    doc = stac_results(
        job,
        _signed_links(request, services, job),
        self_url=api_url(request, services, f"/jobs/{job.id}/results"),
        item_url=lambda item_id: api_url(
            request, services, f"/jobs/{job.id}/results/items/{item_id}"
        ),
        expires=jobs.results_expire(job),
    )
    return JSONResponse(doc, headers={"OpenEO-Costs": "0"})


@router.get("/jobs/{job_id}/results/items/{item_id}", include_in_schema=False)
def job_result_item(
    job_id: str, item_id: str, request: Request, user: CurrentUser, services: ServicesDep
) -> Response:
    """One STAC Item of a job's results (linked ``rel="item"`` from the results document)."""
    from fastapi.responses import JSONResponse

    from eostation.jobs.results import result_items

    job = services.jobs.results(user.user_id, job_id)
    base = f"/jobs/{job.id}/results"
    items = result_items(
        job,
        _signed_links(request, services, job),
        item_url=lambda i: api_url(request, services, f"{base}/items/{i}"),
        collection_url=api_url(request, services, base),
    )
    for item in items:
        if item["id"] == item_id:
            return JSONResponse(item, media_type="application/geo+json")
    raise NotFound(path=f"{base}/items/{item_id}")


@router.api_route(
    "/jobs/{job_id}/results/{expires}/{signature}/{name}",
    methods=["GET", "HEAD"],
    include_in_schema=False,
)
def download_asset(
    job_id: str, expires: int, signature: str, name: str, services: ServicesDep
) -> FileResponse:
    """One result file through a signed link: no token needed, ranges supported."""
    _job, path = services.jobs.asset_file(job_id, name, expires, signature)
    asset = (_job.results or {}).get(name, {})
    return FileResponse(path, media_type=asset.get("type"), filename=name)

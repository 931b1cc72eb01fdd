"""Synchronous processing: ``POST /result`` and the logs it links to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from eostation.api.deps import CurrentUser, Services, ServicesDep, api_url
from eostation.api.heavy import ClientGone
from eostation.api.ratelimit import limit_sync_processing
from eostation.errors import NotFound
from eostation.users import User

__all__ = ["router"]

router = APIRouter()


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

    The work (:class:`eostation.jobs.sync.SyncService`) runs in the engine pool
    (:mod:`eostation.api.heavy`) and stops when the client disconnects or the
    synchronous timeout passes.
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
    rid: str = request.state.request_id
    result = services.sync().process(body, user_id=user.user_id, request_id=rid, cancelled=gone)
    headers = {
        "OpenEO-Costs": str(result.costs),
        "Link": f'<{api_url(request, services, f"/result/logs/{rid}")}>; rel="monitor"',
    }
    return FileResponse(
        result.path,
        media_type=result.media_type,
        filename=result.path.name,
        headers=headers,
        background=BackgroundTask(result.discard),
    )


@router.get("/result/logs/{request_id}", include_in_schema=False)
def sync_logs(request_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The log of one of your synchronous requests (the ``monitor`` link of ``POST /result``)."""
    entries = services.sync_logs.get(request_id, user.user_id)
    if entries is None:
        raise NotFound(path=f"/result/logs/{request_id}")
    return {"logs": entries, "links": []}

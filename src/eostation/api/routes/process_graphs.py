"""User-defined processes (``/process_graphs``) and graph validation (``/validation``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from eostation.api.deps import CurrentUser, ServicesDep, api_url, optional_user
from eostation.api.heavy import ClientGone
from eostation.engine.graph import flat_graph, parse
from eostation.errors import (
    PredefinedProcessExists,
    ProcessGraphMissing,
)
from eostation.udps import check_definition

__all__ = ["router"]

router = APIRouter()

JsonBody = Annotated[dict[str, Any], Body()]
# Large members left out of the listing; GET /process_graphs/{id} has everything.
_LIST_OMIT = ("process_graph", "exceptions", "examples", "links")


@router.get("/process_graphs", summary="List your user-defined processes")
def list_process_graphs(
    request: Request, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Your stored processes, without their graphs."""
    processes = [
        {k: v for k, v in d.items() if k not in _LIST_OMIT}
        for d in services.udps.list(user.user_id)
    ]
    return {
        "processes": processes,
        "links": [{"rel": "self", "href": api_url(request, services, "/process_graphs")}],
    }


@router.get("/process_graphs/{process_graph_id}", summary="Describe a user-defined process")
def get_process_graph(
    process_graph_id: str, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """One stored process with its graph."""
    return services.udps.require(user.user_id, process_graph_id)


@router.put("/process_graphs/{process_graph_id}", summary="Store a user-defined process")
def put_process_graph(
    process_graph_id: str, body: JsonBody, user: CurrentUser, services: ServicesDep
) -> Response:
    """Create or replace a process; its metadata and graph structure are checked before it is stored."""
    check_definition(process_graph_id, body)
    if process_graph_id in services.processes:
        raise PredefinedProcessExists(identifier=process_graph_id)
    # Only the structure is checked here (result node, references, cycles): a stored process
    # may be a draft or call processes stored later. POST /validation reports everything.
    parse(flat_graph(body))
    services.udps.put(user.user_id, process_graph_id, body)
    return Response(status_code=200)


@router.delete(
    "/process_graphs/{process_graph_id}", summary="Delete a user-defined process", status_code=204
)
def delete_process_graph(
    process_graph_id: str, user: CurrentUser, services: ServicesDep
) -> Response:
    """Remove one of your stored processes."""
    services.udps.delete(user.user_id, process_graph_id)
    return Response(status_code=204)


@router.post("/validation", summary="Validate a process graph without running it")
async def validation(request: Request, body: JsonBody, services: ServicesDep) -> Any:
    """All problems found in the graph; an empty list means valid. Always HTTP 200 for a
    readable body. The checks run in a worker process (:mod:`eostation.jobs.graphpool`)."""
    process = body.get("process", body)  # some clients wrap the graph like POST /result
    nodes = process.get("process_graph") if isinstance(process, Mapping) else None
    if not isinstance(nodes, Mapping) or not nodes:
        raise ProcessGraphMissing()
    # A database read and perhaps argon2: not on the event loop.
    user = await asyncio.to_thread(optional_user, request, services)
    # Anonymous validation: only predefined processes are known.
    udp = None if user is None else (lambda pid: services.udps.get(user.user_id, pid))
    task = {"task": "validate", "user_id": None if user is None else user.user_id}
    try:
        errors = await services.heavy.in_process(request, task, json.dumps(nodes), udp=udp)
        return {"errors": errors}
    except ClientGone:
        return Response(status_code=499)  # nobody reads it: the client has gone

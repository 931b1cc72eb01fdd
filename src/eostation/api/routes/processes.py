"""`GET /processes`: the predefined processes of the registry, with their metadata."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from eostation.api.deps import ServicesDep, api_url

__all__ = ["router"]

router = APIRouter()


@router.get("/processes", summary="Predefined processes")
def list_processes(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Every process the engine implements, with its parameters and return schema."""
    return {
        "processes": services.processes.describe(),
        "links": [
            {
                "rel": "self",
                "href": api_url(request, services, "/processes"),
                "type": "application/json",
            }
        ],
    }

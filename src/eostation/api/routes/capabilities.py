"""Capabilities: well-known versions, the API root, conformance, file formats, runtimes."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from eostation import __version__
from eostation.api.deps import ServicesDep, api_url
from eostation.jobs.service import DEFAULT_PLAN, PLANS

__all__ = ["CONFORMANCE", "openeo_endpoints", "root_router", "router"]

router = APIRouter()
root_router = APIRouter()

CONFORMANCE = [
    "https://api.openeo.org/1.2.0",
    "https://api.openeo.org/extensions/commercial-data/0.1.0",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
]


@root_router.get("/.well-known/openeo", summary="openEO versions this server offers")
async def well_known(request: Request, services: ServicesDep) -> dict[str, Any]:
    """The versions list that clients read first (async: answers even when every thread is busy)."""
    return {
        "versions": [
            {"url": api_url(request, services, "/"), "api_version": "1.2.0", "production": False}
        ]
    }


def openeo_endpoints(routers: Sequence[APIRouter]) -> list[dict[str, Any]]:
    """The openEO endpoints (path without the API prefix, methods) of the routers the app
    mounts under the API prefix: what the OpenAPI document lists for them.

    Read from the routers rather than from ``app.openapi()``: building that document costs
    ~0.1 s of CPU, which the first capabilities request of every app would pay.
    ``create_app`` computes the list once and keeps it on ``app.state``.
    """
    methods: dict[str, set[str]] = {}
    for router_ in routers:
        for route in router_.routes:
            if (
                isinstance(route, APIRoute)
                and route.include_in_schema
                and route.path_format not in ("", "/")
            ):
                methods.setdefault(route.path_format, set()).update(
                    m for m in route.methods or () if m not in ("HEAD", "OPTIONS")
                )
    return [{"path": path, "methods": sorted(names)} for path, names in sorted(methods.items())]


@router.get("/", summary="Capabilities")
def capabilities(request: Request, services: ServicesDep) -> dict[str, Any]:
    """What this back-end is and which endpoints it implements."""
    settings = services.settings
    endpoints = request.app.state.openeo_endpoints
    return {
        "api_version": "1.2.0",
        "backend_version": __version__,
        "stac_version": "1.0.0",
        "type": "Catalog",
        "id": "eostation",
        "title": settings.title,
        "description": (
            "eostation: a self-hosted openEO back-end. Demo collections carry CDSE collection ids "
            "and hold **synthetic** data generated for any place and date."
        ),
        "production": False,
        "conformsTo": CONFORMANCE,
        "endpoints": endpoints,
        "billing": {
            "currency": "credits",
            "default_plan": DEFAULT_PLAN,
            "plans": [
                {"name": name, "description": text, "paid": False} for name, text in PLANS.items()
            ],
        },
        "links": [
            {"rel": "self", "href": api_url(request, services, "/"), "type": "application/json"},
            {
                "rel": "version-history",
                "href": str(request.base_url) + ".well-known/openeo",
                "type": "application/json",
            },
            {
                "rel": "data",
                "href": api_url(request, services, "/collections"),
                "type": "application/json",
            },
            {
                "rel": "conformance",
                "href": api_url(request, services, "/conformance"),
                "type": "application/json",
            },
            {
                # The item catalogue (STAC API): pystac-client, odc-stac, QGIS.
                "rel": "search",
                "href": (services.settings.public_url or str(request.base_url)).rstrip("/")
                + "/stac/v1/search",
                "type": "application/geo+json",
                "title": "STAC API item search",
            },
        ],
    }


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict[str, Any]:
    """The standards this API conforms to."""
    return {"conformsTo": CONFORMANCE}


@router.get("/file_formats", summary="Input and output file formats")
def file_formats(services: ServicesDep) -> dict[str, Any]:
    """Formats that ``save_result`` writes and that can be read."""
    result: dict[str, Any] = services.formats.describe()
    return result


def _libraries() -> dict[str, Any]:
    names = [
        "numpy",
        "pandas",
        "xarray",
        "dask",
        "scipy",
        "shapely",
        "pyproj",
        "rasterio",
        "openeo",
    ]
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = {"version": importlib_metadata.version(name)}
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


@router.get("/udf_runtimes", summary="UDF runtimes")
def udf_runtimes() -> dict[str, Any]:
    """The Python runtime that ``run_udf`` uses."""
    version = ".".join(platform.python_version_tuple()[:2])
    return {
        "Python": {
            "title": f"Python {version}",
            "type": "language",
            "default": version,
            "versions": {version: {"libraries": _libraries()}},
        }
    }


@router.get("/service_types", summary="Secondary web service types")
def service_types() -> dict[str, Any]:
    """No secondary web services are offered."""
    return {}

"""Validate eostation responses against the official openEO API document (../shared)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters

from eostation.api.deps import API_PREFIX

# The document's server is https://openeo.example/api/{version}; our prefix maps onto it.
_HOST = "https://openeo.example"
_SPEC_PREFIX = "/api/v1"


@functools.cache
def load_spec(path: Path) -> OpenAPI:
    return OpenAPI.from_file_path(str(path))


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None = None
    content_type: str = "application/json"
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: dict[str, Any]
    data: bytes


def validate(spec: OpenAPI, response: httpx.Response) -> None:
    """Raise when ``response`` does not follow the documented schema for its request."""
    req = response.request
    path = req.url.path
    mapped = _SPEC_PREFIX + path.removeprefix(API_PREFIX) if path.startswith(API_PREFIX) else path
    request = _Request(host_url=_HOST, path=mapped, method=req.method.lower())
    out = _Response(
        status_code=response.status_code,
        content_type=response.headers.get("content-type", "application/json").split(";")[0],
        headers=dict(response.headers),
        data=response.content,
    )
    if path.startswith("/.well-known"):
        # The well-known document lives outside the versioned API, at the host root.
        request = _Request(host_url=_HOST, path=_SPEC_PREFIX + path, method=req.method.lower())
    spec.validate_response(request, out)

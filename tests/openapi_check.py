"""Validate eostation responses against the official openEO API document (../shared)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters

from eostation.api.deps import API_PREFIX

# The document's server is https://openeo.example/api/{version}; our prefix maps onto it.
_HOST = "https://openeo.example"
_SPEC_PREFIX = "/api/v1"


def _one_of_to_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _one_of_to_any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_one_of_to_any_of(v) for v in node]
    return node


@functools.cache
def load_spec(path: Path) -> OpenAPI:
    """The openEO API document, with ``oneOf`` read as ``anyOf``.

    The document's ``oneOf`` alternatives overlap: a numeric summary range
    ``{"minimum": 0, "maximum": 100}`` is also a valid JSON Schema, and a
    ``process_json_schema`` without ``subtype`` matches several branches, so no
    real response could pass them as exclusive choices.
    """
    spec = yaml.safe_load(path.read_text())
    config = Config(extra_media_type_deserializers={"application/schema+json": json.loads})
    return OpenAPI.from_dict(_one_of_to_any_of(spec), config=config)


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
        headers=response.headers,  # case-insensitive, like HTTP
        data=response.content,
    )
    spec.validate_response(request, out)

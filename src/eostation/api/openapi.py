"""The served ``/openapi.json``: the error statuses the server really answers.

FastAPI documents a 422 ``HTTPValidationError`` on every operation with parameters,
but :mod:`eostation.api.handlers` answers malformed input with 400 and an openEO
error body. This rewrites the generated document once: 422 becomes 400, and every
operation lists the statuses the middleware and handlers add (413 for bodies, 429 on
rate-limited routes, 401/403 where a token is needed, 503 when the database is
busy, 4XX/5XX as openEO errors).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["install_openapi"]

_ERROR_REF: Final = {"$ref": "#/components/schemas/OpenEOError"}
_ERROR_SCHEMA: Final = {
    "type": "object",
    "title": "openEO error",
    "required": ["code", "message"],
    "properties": {
        "id": {"type": "string", "description": "Request id, quote it when reporting a problem."},
        "code": {"type": "string", "description": "openEO error code, e.g. RequestInvalid."},
        "message": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}
_RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
# Operations behind a rate limit (see eostation.api.ratelimit).
_RATE_LIMITED: Final = {
    ("post", "/openeo/1.2/jobs"),
    ("post", "/openeo/1.2/result"),
    ("get", "/openeo/1.2/credentials/basic"),
}


# Request bodies: the routes take raw JSON objects (their own checks name the field that
# is wrong, with openEO error codes); these schemas document the shape they expect, so
# that clients and schemathesis see more than "any object".
_NODE: Final = {
    "type": "object",
    "required": ["process_id", "arguments"],
    "properties": {
        "process_id": {"type": "string", "pattern": r"^\w+$"},
        "namespace": {"type": ["string", "null"]},
        "arguments": {"type": "object"},
        "result": {"type": "boolean"},
        "description": {"type": ["string", "null"]},
    },
}
_GRAPH: Final = {"type": "object", "minProperties": 1, "additionalProperties": _NODE}
_PROCESS: Final = {
    "type": "object",
    "required": ["process_graph"],
    "properties": {
        "process_graph": _GRAPH,
        "id": {"type": "string", "pattern": r"^\w+$"},
        "summary": {"type": "string"},
        "description": {"type": "string"},
        "parameters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^\w+$"},
                    "description": {"type": "string"},
                    "schema": {"type": ["object", "array"]},
                    "optional": {"type": "boolean"},
                },
            },
        },
        "returns": {"type": "object", "properties": {"schema": {"type": ["object", "array"]}}},
    },
}
_JOB_FIELDS: Final = {
    "title": {"type": ["string", "null"]},
    "description": {"type": ["string", "null"]},
    "plan": {"type": ["string", "null"]},
    "budget": {"type": ["number", "null"], "minimum": 0},
    "log_level": {"type": "string", "enum": ["error", "warning", "info", "debug"]},
    "job_options": {"type": ["object", "null"]},
}
_BODIES: Final = {
    ("post", "/openeo/1.2/jobs"): {
        "type": "object",
        "required": ["process"],
        "properties": {"process": _PROCESS, **_JOB_FIELDS},
    },
    ("patch", "/openeo/1.2/jobs/{job_id}"): {
        "type": "object",
        "properties": {"process": _PROCESS, **_JOB_FIELDS},
    },
    ("post", "/openeo/1.2/result"): {
        "type": "object",
        "required": ["process"],
        "properties": {
            "process": _PROCESS,
            "budget": _JOB_FIELDS["budget"],
            "plan": _JOB_FIELDS["plan"],
            "log_level": _JOB_FIELDS["log_level"],
        },
    },
    ("put", "/openeo/1.2/process_graphs/{process_graph_id}"): _PROCESS,
    ("post", "/openeo/1.2/validation"): _PROCESS,
}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_REF}},
        **extra,
    }


def _rewrite(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["OpenEOError"] = _ERROR_SCHEMA
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses: dict[str, Any] = op["responses"]
            responses.pop("422", None)
            responses.setdefault("400", _error("Malformed request: the message names the field."))
            if (method, path) in _BODIES:
                op["requestBody"]["content"]["application/json"]["schema"] = copy.deepcopy(
                    _BODIES[method, path]
                )
            if "requestBody" in op:
                responses["413"] = _error("Request body larger than the configured limit.")
            if (method, path) in _RATE_LIMITED:
                responses["429"] = _error("Rate limit reached.", headers=_RETRY_AFTER)
            responses["503"] = _error(
                "The database stayed locked by other writers.", headers=_RETRY_AFTER
            )
            responses.setdefault("4XX", _error("Any other client error, as openEO error JSON."))
            responses.setdefault("5XX", _error("Server error, as openEO error JSON."))
    return doc


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` serve the rewritten document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _rewrite(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

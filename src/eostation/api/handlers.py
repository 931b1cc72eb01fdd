"""The one place that turns exceptions into openEO error JSON."""

from __future__ import annotations

import logging
import math
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eostation.db import is_contention
from eostation.errors import (
    Internal,
    MethodNotAllowed,
    NotFound,
    OpenEOError,
    PayloadTooLarge,
    RequestInvalid,
    ServiceUnavailable,
)

__all__ = ["BodyLimitMiddleware", "RequestIdMiddleware", "error_response", "install_handlers"]

log = logging.getLogger("eostation.api")


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def error_response(request: Request, error: OpenEOError) -> JSONResponse:
    """``{id, code, message, links}`` with the error's status."""
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if error.retry_after is not None:
        # Whole seconds, rounded up: clients (urllib3's Retry) read it as an integer.
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(
        error.to_dict(_request_id(request)), status_code=error.status, headers=headers
    )


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            parts.append(f"the request body is not valid JSON (error at character {loc[-1]})")
            continue
        source = loc[0] if loc else "body"
        field = ".".join(str(p) for p in loc[1:])
        if source in ("query", "path", "header"):
            where = f"{source} parameter '{field}'"
        else:
            where = field or "request body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "malformed request"


def install_handlers(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(OpenEOError)
    async def _openeo(request: Request, exc: OpenEOError) -> JSONResponse:
        if exc.status >= 500:
            log.error("request %s failed: %s", _request_id(request), exc.message)
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, RequestInvalid(reason=_describe_validation(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(request, NotFound(path=request.url.path))
        if exc.status_code == 405:
            return error_response(
                request, MethodNotAllowed(method=request.method, path=request.url.path)
            )
        if exc.status_code == 413:
            return error_response(request, PayloadTooLarge(limit=_body_limit(request)))
        if exc.status_code < 500:
            # Raised by the framework itself (e.g. an unreadable body): still a client error.
            return error_response(request, RequestInvalid(reason=str(exc.detail)))
        return error_response(request, Internal(message=str(exc.detail)))

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        # Only a pathologically nested request body gets this deep.
        return error_response(
            request, RequestInvalid(reason="the request body is nested too deeply")
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = _request_id(request)
        if is_contention(exc):
            # A read while the database restarts or is locked: temporary, say so.
            log.warning("request %s: database unavailable: %s", rid, exc)
            reason = "the database is unavailable or locked"
            return error_response(request, ServiceUnavailable(reason=reason, retry_after=5))
        log.exception("unexpected error in request %s", rid)
        return error_response(
            request, Internal(message=f"unexpected error; quote request id {rid} when reporting it")
        )


_LIMIT_KEY = "eostation.max_request_bytes"


def _body_limit(request: Request) -> int:
    return int(request.scope.get(_LIMIT_KEY, 0))


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 ``PayloadTooLarge``, before storing any.

    A declared ``Content-Length`` over the limit is answered at once without reading the
    body; a chunked body is counted while it streams and aborted when it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[_LIMIT_KEY] = self.max_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            request = Request(scope)
            response = error_response(request, PayloadTooLarge(limit=self.max_bytes))
            # The client may still be sending: tell it the connection will not be reused.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(413)
            return message

        await self.app(scope, counting_receive, send)


class RequestIdMiddleware:
    """Gives every request an id (``request.state.request_id``) and returns it as ``Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"request-id", rid.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)

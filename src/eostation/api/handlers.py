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
    ODataQueryInvalid,
    OpenEOError,
    PayloadTooLarge,
    RequestInvalid,
    ServiceUnavailable,
)
from eostation.issuer import ISSUER_PATH, OAuthError

__all__ = [
    "BodyLimitMiddleware",
    "RequestIdMiddleware",
    "error_response",
    "install_handlers",
    "oauth_response",
]

log = logging.getLogger("eostation.api")
ODATA_PREFIX = "/odata/v1"


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def oauth_response(error: OAuthError) -> JSONResponse:
    """An OAuth2 error body (RFC 6749 §5.2), the shape of the issuer's mount."""
    headers = {"Cache-Control": "no-store"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="CDSE"'
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def _stac_error(
    request: Request, error: OpenEOError, headers: dict[str, str] | None
) -> JSONResponse:
    """STAC API errors: ``{code, description}`` (plus the request id)."""
    body = {"code": error.code, "description": error.message, "id": _request_id(request)}
    return JSONResponse(body, status_code=error.status, headers=headers)


# OAuth2 error codes for openEO errors raised on the issuer's mount, by HTTP status.
_OAUTH_CODES = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    429: "slow_down",
}


def error_response(request: Request, error: OpenEOError) -> JSONResponse:
    """The error in the shape of the mount: openEO ``{id, code, message, links}``, OAuth2 on
    the issuer's mount, STAC's ``{code, description}`` under ``/stac/``."""
    retry = {}
    if error.retry_after is not None:
        # Whole seconds, rounded up: clients (urllib3's Retry) read it as an integer.
        retry["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    if request.url.path.startswith(ISSUER_PATH):
        code = "server_error" if error.status >= 500 else _OAUTH_CODES.get(error.status)
        response = oauth_response(
            OAuthError(code or "invalid_request", error.message, error.status)
        )
        response.headers.update(retry)
        return response
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    headers.update(retry)
    if request.url.path.startswith("/stac/"):
        return _stac_error(request, error, headers)
    if request.url.path.startswith(ODATA_PREFIX + "/"):
        return _odata_response(request, error, headers)
    return JSONResponse(
        error.to_dict(_request_id(request)), status_code=error.status, headers=headers
    )


def _odata_response(
    request: Request, error: OpenEOError, headers: dict[str, str] | None
) -> JSONResponse:
    """CDSE's OData catalogue answers in FastAPI's shape: ``{"detail": [...]}`` for bad
    query options (each naming the option and, in ``$filter``, the position), else
    ``{"detail": message}``."""
    if isinstance(error, ODataQueryInvalid):
        loc: list[str | int] = ["query", error.param]
        if error.position is not None:
            loc.append(error.position)
        detail = [{"type": "value_error", "loc": loc, "msg": error.reason, "input": error.value}]
        return JSONResponse({"detail": detail}, status_code=error.status, headers=headers)
    status = error.status
    if error.code == "TokenInvalid":
        # CDSE answers an expired or bad token with 401, which is what its scripts (and
        # eodag) take as the cue to refresh it.
        status, headers = 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    body = {"detail": error.message, "code": error.code, "request_id": _request_id(request)}
    return JSONResponse(body, status_code=status, headers=headers)


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

    @app.exception_handler(OAuthError)
    async def _oauth(_request: Request, exc: OAuthError) -> JSONResponse:
        return oauth_response(exc)

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
        if request.url.path.startswith(ISSUER_PATH):
            return oauth_response(OAuthError("invalid_request", str(exc.detail), exc.status_code))
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

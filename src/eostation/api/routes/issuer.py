"""The built-in OpenID Connect issuer's HTTP endpoints, at CDSE's paths (``/auth/realms/CDSE``).

Token logic lives in :mod:`eostation.issuer`; this module only reads requests. Errors
on this mount are OAuth2 bodies (``{"error", "error_description"}``, see ``handlers``).
"""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from eostation.api.deps import ServicesDep
from eostation.api.guard import is_browser_request
from eostation.api.ratelimit import client_ip, login_limiter
from eostation.auth import is_loopback
from eostation.errors import CredentialsInvalid
from eostation.issuer import DEVICE_PAGE, ISSUER_PATH, OAuthError

__all__ = ["issuer_url", "router"]

router = APIRouter(prefix=ISSUER_PATH, include_in_schema=False)
_OIDC = "/protocol/openid-connect"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def issuer_url(request: Request, services: ServicesDep) -> str:
    """The issuer identifier as clients see it: on the public URL if configured."""
    base = services.settings.public_url or str(request.base_url)
    return base.rstrip("/") + ISSUER_PATH


async def _form(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (RFC 6749 §3.2)."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request", "send the parameters as application/x-www-form-urlencoded"
        )
    try:
        fields = parse_qs((await request.body()).decode(), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the request body is not a valid form") from None
    repeated = sorted(k for k, v in fields.items() if len(v) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameters given more than once: {repeated}")
    return {k: v[0] for k, v in fields.items()}


def _client_basic(request: Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (client_secret_basic), if sent."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed HTTP Basic client credentials", 401) from None
    if not sep:
        raise OAuthError("invalid_client", "malformed HTTP Basic client credentials", 401)
    return unquote_plus(client_id), unquote_plus(secret)


@contextmanager
def _login_attempt(request: Request, account: str) -> Iterator[None]:
    """The one call site of the login rate limit and back-off (``api/ratelimit.py``).

    ``account`` is the name tried (user name or client id); inside, a wrong password
    raises :class:`OAuthError` ``invalid_grant`` (password) or ``invalid_client``, or
    :class:`CredentialsInvalid`; both count as a failed login of ``account``.
    """
    limiter = login_limiter(request)
    limiter.check(client_ip(request), account)
    try:
        yield
    except CredentialsInvalid:
        limiter.failed(account)
        raise
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client"):
            limiter.failed(account)
        raise
    limiter.succeeded(account)


@router.get("/.well-known/openid-configuration")
def discovery(request: Request, services: ServicesDep) -> dict[str, Any]:
    """OpenID Connect discovery document."""
    return services.auth.issuer.discovery(issuer_url(request, services))


@router.get(_OIDC + "/certs")
def jwks(services: ServicesDep) -> dict[str, Any]:
    """The public keys that sign the tokens."""
    return services.auth.issuer.jwks()


@router.post(_OIDC + "/token")
async def token(request: Request, services: ServicesDep) -> JSONResponse:
    """Token endpoint: password, refresh_token, client_credentials and device_code grants."""
    form = await _form(request)
    client = _client_basic(request)
    account = form.get("username") or (client[0] if client else form.get("client_id", ""))
    with _login_attempt(request, account):
        body = services.auth.issuer.token(issuer_url(request, services), form, client)
    return JSONResponse(body, headers=_NO_STORE)


@router.get(_OIDC + "/auth")
def authorization() -> None:
    """The browser (authorization code) flow is not offered: password, device and refresh grants are."""
    raise OAuthError("unsupported_response_type", "use the device or password grant", 400)


@router.post(_OIDC + "/auth/device")
async def device_authorization(request: Request, services: ServicesDep) -> JSONResponse:
    """Device authorization (RFC 8628): approved at once for the local user on this machine,
    otherwise on the verification page."""
    form = await _form(request)
    client = request.client.host if request.client else ""
    # A web page must not get the local user's approval for free: it would get a token.
    trusted = is_loopback(client) and not is_browser_request(request.headers)
    body = services.auth.issuer.device_authorization(issuer_url(request, services), form, trusted)
    return JSONResponse(body, headers=_NO_STORE)


@router.api_route(_OIDC + "/userinfo", methods=["GET", "POST"])
def userinfo(request: Request, services: ServicesDep) -> dict[str, Any]:
    """The claims of the access token's user."""
    scheme, _, token_ = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_.strip():
        raise OAuthError("invalid_token", "send 'Authorization: Bearer <access token>'", 401)
    user = services.auth.authenticate_bearer(token_.strip())
    return {
        "sub": user.user_id,
        "preferred_username": user.user_id,
        "name": user.name or user.user_id,
    }


def _page(message: str, user_code: str = "", form: bool = True) -> str:
    fields = (
        f'<form method="post"><p><label>Code <input name="user_code" value="{html.escape(user_code, quote=True)}" required>'
        '</label></p><p><label>Account <input name="username" autocomplete="username" required>'
        '</label></p><p><label>Password <input name="password" type="password" '
        'autocomplete="current-password" required></label></p><p><button>Approve</button></p>'
        "</form>"
    )
    return (
        "<!doctype html><meta charset=utf-8><title>eostation login</title>"
        f"<h1>eostation login</h1><p>{html.escape(message)}</p>{fields if form else ''}"
    )


@router.get(DEVICE_PAGE, response_class=HTMLResponse)
def device_page(user_code: str = "") -> str:
    """Where a device login is approved with an account name and password."""
    return _page(
        "A program asks to log in with your account. Check that the code matches the one "
        "it shows, then approve with your account name and password (in local mode: "
        "'local' and the secret that 'eostation serve' printed).",
        user_code,
    )


@router.post(DEVICE_PAGE, response_class=HTMLResponse)
async def approve_device(request: Request, services: ServicesDep) -> HTMLResponse:
    """Approve a device login; the program polling the token endpoint gets its tokens."""
    form = await _form(request)
    user_code, account = form.get("user_code", ""), form.get("username", "")
    try:
        with _login_attempt(request, account):
            services.auth.issuer.approve_device_login(user_code, account, form.get("password", ""))
    except ValueError as exc:
        return HTMLResponse(_page(str(exc), user_code), status_code=400)
    except CredentialsInvalid:
        return HTMLResponse(_page("Wrong account name or password.", user_code), status_code=400)
    return HTMLResponse(_page("Approved: return to your program.", form=False))

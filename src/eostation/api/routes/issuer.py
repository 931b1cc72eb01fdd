"""The built-in OpenID Connect issuer's HTTP endpoints, at CDSE's paths (``/auth/realms/CDSE``).

Token logic lives in :mod:`eostation.issuer`; this module only reads requests. Errors
on this mount are OAuth2 bodies (``{"error", "error_description"}``, see ``handlers``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from eostation.api.deps import ServicesDep
from eostation.api.guard import is_browser_request
from eostation.auth import is_loopback
from eostation.issuer import ISSUER_PATH, OAuthError

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


def _throttle(request: Request, form: dict[str, str]) -> None:
    """The one place where the login rate limit and back-off (``api/ratelimit.py``) plugs in."""


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
    _throttle(request, form)
    body = services.auth.issuer.token(issuer_url(request, services), form, _client_basic(request))
    return JSONResponse(body, headers=_NO_STORE)


@router.get(_OIDC + "/auth")
def authorization() -> None:
    """The browser (authorization code) flow is not offered: password, device and refresh grants are."""
    raise OAuthError("unsupported_response_type", "use the device or password grant", 400)


@router.post(_OIDC + "/auth/device")
async def device_authorization(request: Request, services: ServicesDep) -> JSONResponse:
    """Device authorization (RFC 8628): approved at once for the local user on this machine."""
    form = await _form(request)
    client = request.client.host if request.client else ""
    # A web page must not be able to log in as the local user: it would get a token.
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


@router.get("/device", response_class=HTMLResponse)
def device_page() -> str:
    """Where device logins would be approved; local ones are approved automatically."""
    return (
        "<!doctype html><title>eostation login</title><p>Device logins of the local user are "
        "approved automatically; there is nothing to do here. Other accounts log in with "
        "their password (password or client_credentials grant).</p>"
    )

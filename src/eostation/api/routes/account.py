"""Authentication endpoints and the account description."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request

from eostation.api.deps import CurrentUser, ServicesDep, api_url
from eostation.api.routes.issuer import issuer_url
from eostation.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
)
from eostation.issuer import PUBLIC_CLIENT_ID

__all__ = ["router"]

router = APIRouter()


@router.get("/credentials/basic", summary="HTTP Basic authentication")
def credentials_basic(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Check a user name and password and return an access token (send it as ``Bearer basic//TOKEN``)."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationRequired()
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationSchemeInvalid(reason=f"this endpoint expects 'Basic', not '{scheme}'")
    try:
        user_id, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise CredentialsInvalid() from None
    if not sep:
        raise CredentialsInvalid()
    # The login rate limit (sec-api: api/ratelimit.py) plugs in here, as in issuer._throttle.
    user = services.auth.verify_password(user_id, password)
    return {"access_token": services.auth.issue_basic_token(user)}


# What the built-in issuer's public client supports, as the openEO API names the grants.
_BUILTIN_GRANTS = [
    "urn:ietf:params:oauth:grant-type:device_code+pkce",
    "urn:ietf:params:oauth:grant-type:device_code",
    "refresh_token",
]


@router.get("/credentials/oidc", summary="OpenID Connect providers")
def credentials_oidc(request: Request, services: ServicesDep) -> dict[str, Any]:
    """The built-in issuer (id ``CDSE``, as on CDSE) first, then the configured providers."""
    out: list[dict[str, Any]] = []
    if services.auth.builtin_provider_id:
        out.append(
            {
                "id": services.auth.builtin_provider_id,
                "issuer": issuer_url(request, services),
                "title": f"{services.settings.title} accounts",
                "description": "Log in with your eostation account (in local mode: the user "
                "'local', approved automatically on this machine).",
                "scopes": ["openid"],
                "default_clients": [{"id": PUBLIC_CLIENT_ID, "grant_types": _BUILTIN_GRANTS}],
            }
        )
    for p in services.auth.oidc_providers:
        entry: dict[str, Any] = {
            "id": p.id,
            "issuer": p.issuer.rstrip("/"),
            "title": p.title,
            "scopes": p.scopes,
        }
        if p.default_client_id:
            entry["default_clients"] = [
                {
                    "id": p.default_client_id,
                    "grant_types": [
                        "urn:ietf:params:oauth:grant-type:device_code+pkce",
                        "refresh_token",
                    ],
                }
            ]
        out.append(entry)
    return {"providers": out}


@router.get("/me", summary="The authenticated user")
def me(request: Request, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Who you are and which limits apply to you."""
    return {
        "user_id": user.user_id,
        "name": user.name or user.user_id,
        "default_plan": "local",
        "budget": None,
        "limits": {"concurrent_jobs": services.settings.concurrent_jobs},
        "authentication": user.method,
        "links": [
            {
                "rel": "related",
                "href": api_url(request, services, "/jobs"),
                "title": "Your batch jobs",
            }
        ],
    }

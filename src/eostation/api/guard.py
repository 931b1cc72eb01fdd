"""Protection against web pages driving the server: the Host allow-list and forgeable requests.

CORS stays open as the openEO API requires (any origin, no credentials, no cookies), so
any page a user visits can send requests to ``http://127.0.0.1:8000``. Two rules keep
such pages from acting as the user:

- a request whose ``Host`` is not a loopback name, the public URL's host or a configured
  allowed host is refused (DNS rebinding: a page at ``evil.example`` re-resolved to
  127.0.0.1 sends ``Host: evil.example``);
- a request a browser could have sent on a page's behalf (:func:`is_browser_request`) never
  gets the credential-free local user: it must log in (``deps.current_user``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from eostation.api.handlers import error_response
from eostation.auth import is_loopback
from eostation.config import Settings
from eostation.errors import HostNotAllowed

__all__ = ["HostGuardMiddleware", "allowed_hosts", "host_name", "is_browser_request"]

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def is_browser_request(headers: Mapping[str, str]) -> bool:
    """Whether a web page could have made the browser send this request.

    Browsers add ``Origin`` to cross-origin requests (and to POSTs) and ``Sec-Fetch-Site``
    to every request; scripts, curl and notebooks send neither.
    """
    if "origin" in headers:
        return True
    site = headers.get("sec-fetch-site")
    return site is not None and site.strip().lower() not in ("none", "same-origin")


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without port and IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """Host names besides loopback ones that requests may use; None: any (see below).

    A server bound to all interfaces without a public URL or allowed hosts answers to
    any name: it is never in local mode there (``auth.bind_refusal``), so every
    request that acts as a user carries credentials anyway.
    """
    names = {h.lower() for h in settings.allowed_hosts}
    if settings.public_url:
        names.add((urlsplit(settings.public_url).hostname or "").lower())
    if settings.host not in _WILDCARDS:
        names.add(settings.host.lower())
    elif not names:
        return None
    return frozenset(names)


class HostGuardMiddleware:
    """Refuses requests addressed to a host name the server does not own (DNS rebinding)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self._allowed = allowed_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._allowed is not None:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
            if host is not None:
                name = host_name(host)
                if not is_loopback(name) and name not in self._allowed:
                    response = error_response(Request(scope), HostNotAllowed(host=name))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

"""Repeated slashes in a request path count as one, as nginx's default ``merge_slashes``.

Clients that join a base URL ending in ``/`` with ``/jobs/…`` send
``/openeo/1.2//jobs/…`` (the official openeo-test-suite does for its job requests);
behind the usual reverse proxy that reaches a back-end as ``/openeo/1.2/jobs/…``, so a
server answering on its own address does the same. No openEO path has an empty segment.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MergeSlashesMiddleware"]

_REPEATED = re.compile(r"/{2,}")
_REPEATED_BYTES = re.compile(rb"/{2,}")


class MergeSlashesMiddleware:
    """Rewrites ``//`` (and longer runs) to ``/`` in the path before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope.get("path", ""):
            scope = dict(scope)
            scope["path"] = _REPEATED.sub("/", scope["path"])
            if isinstance(raw := scope.get("raw_path"), bytes):
                scope["raw_path"] = _REPEATED_BYTES.sub(b"/", raw)
        await self.app(scope, receive, send)

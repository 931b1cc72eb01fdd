"""STAC reading for user-supplied URLs: pystac and pystac-client through the outbound guard.

A ``load_stac`` URL comes from a user, and so do the links and asset hrefs of the
documents it points at. :class:`GuardedStacIO` serves both pystac (static catalogues)
and pystac-client (STAC APIs) with :meth:`OutboundPolicy.client`; anything that is not
http(s) — a local path, ``file://`` — is refused, so a remote item cannot make the server
read its own files. :func:`check_assets` applies the same rule to the asset hrefs GDAL
will open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pystac
from pystac.stac_io import DefaultStacIO
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO

from eostation.outbound import OutboundPolicy

__all__ = ["GuardedStacIO", "check_assets"]


class GuardedStacIO(StacApiIO):
    """pystac-client's IO (STAC APIs) and, through :attr:`static`, pystac's (static
    catalogues): every read is an http(s) request the policy allows."""

    def __init__(self, policy: OutboundPolicy, headers: dict[str, str] | None = None) -> None:
        super().__init__(headers=headers)
        self.policy = policy
        self.http = policy.client(headers=headers or {})
        self.static = _StaticIO(self)

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        """The text at ``source`` (http(s) only).

        pystac-client's search passes its ``method`` and ``parameters`` (bbox, datetime,
        filter) here, and a next-page link may carry its own method and body: dropping
        them would send a search without its filters.
        """
        if isinstance(source, pystac.Link):
            link = source.to_dict()
            method = str(link.get("method", "GET")).upper()
            body = dict(link.get("body") or {})
            if link.get("merge"):
                body = {**(kwargs.get("parameters") or {}), **body}
            return self.request(
                str(link["href"]),
                method=method,
                headers=link.get("headers"),
                parameters=body if method == "POST" else None,
            )
        return self.request(str(source), *args, **kwargs)

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        """One request through the guard (pystac-client's search and paging call this)."""
        self.policy.check(href)
        method = (method or "GET").upper()
        has_body = method in ("POST", "PUT", "PATCH")
        try:
            response = self.http.request(
                method,
                href,
                headers=headers,
                json=parameters if has_body else None,
                params=None if has_body else parameters,
            )
        except httpx.HTTPError as exc:
            raise APIError(f"{href}: {exc}") from exc
        if response.status_code >= 400:
            raise APIError(f"{href}: HTTP {response.status_code}")
        return response.text


class _StaticIO(DefaultStacIO):
    """pystac's IO for static catalogues (plain pystac objects), reading through the guard."""

    def __init__(self, api: GuardedStacIO) -> None:
        super().__init__()
        self.api = api

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        """The text at ``source`` (http(s) only)."""
        return self.api.request(str(source))

    def write_text(self, dest: Any, txt: str, *args: Any, **kwargs: Any) -> None:
        """Never: user-supplied catalogues are only read."""
        raise PermissionError("writing STAC documents is not supported here")


def check_assets(items: Sequence[pystac.Item], policy: OutboundPolicy) -> None:
    """Raise ``OutboundRefused`` unless every asset href is an http(s) URL the policy allows."""
    checked: set[tuple[str, str]] = set()
    for item in items:
        for asset in item.assets.values():
            href = asset.get_absolute_href() or asset.href
            origin = href.split("/", 3)[:3]
            key = (origin[0], "/".join(origin))
            if key not in checked:
                policy.check(href)
                checked.add(key)

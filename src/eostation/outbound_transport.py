"""The httpx transport behind :meth:`eostation.outbound.OutboundPolicy.client`.

A module of its own so that importing the policy (every command and process does) does
not import httpx; only a client that is actually built does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from eostation.outbound import OutboundPolicy

__all__ = ["GuardedTransport"]


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that resolves, checks and connects to the checked address."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._inner = httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the address the policy allowed (keeping Host and TLS name)."""
        _, _, addresses = self.policy.resolve(str(request.url))
        target = addresses[0]
        ip_host = f"[{target}]" if ":" in target else target
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": request.url.host}
        request.url = request.url.copy_with(host=ip_host.strip("[]"))
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the pooled connections."""
        self._inner.close()

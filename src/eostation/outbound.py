"""The one guard for server-side requests to URLs that users (or documents they point at) name.

``load_url``, ``load_stac``, UDF and user-defined process URLs, and every link followed
from them go through :class:`OutboundPolicy`: the host is resolved once, every address
it resolves to must be public (not loopback, private, link-local, shared, multicast,
reserved or unspecified: that covers cloud metadata services such as 169.254.169.254
and fd00:ec2::254), and the connection goes to that address, so a second DNS answer
cannot swap it. Redirects are followed by the client and each hop is checked again.
Hosts and networks the admin names in ``EOSTATION_OUTBOUND_ALLOW`` (comma-separated
host names and CIDRs, e.g. ``127.0.0.0/8,stac.lan``) are allowed although internal; so
is the server's own public URL. Only ``http`` and ``https`` URLs are fetched.

Use :meth:`OutboundPolicy.client` for httpx. GDAL (rasterio, odc-stac) resolves and
follows redirects itself, so :mod:`eostation.outbound_proxy` runs a local proxy that
applies the same policy to every connection GDAL makes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eostation.errors import OutboundRefused

if TYPE_CHECKING:
    import httpx

    from eostation.config import Settings

__all__ = ["OutboundPolicy", "OutboundRefused"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class OutboundPolicy:
    """Which hosts server-side requests may reach; see the module docs.

    ``allow_hosts``: host names allowed whatever they resolve to (lower case);
    ``allow_networks``: address ranges allowed although internal; ``own_origins``:
    ``(scheme, host, port)`` of the server itself.
    """

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    own_origins: frozenset[tuple[str, str, int]] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, allow: str, own_urls: Iterable[str] = ()) -> OutboundPolicy:
        """A policy from ``EOSTATION_OUTBOUND_ALLOW``'s syntax and the server's own URLs."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        origins = {_origin(u) for u in own_urls}
        return cls(frozenset(hosts), tuple(networks), frozenset(o for o in origins if o))

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        """The policy the configuration sets."""
        return cls.parse(settings.outbound_allow, [settings.base_url])

    def allows_address(self, address: IPAddress) -> bool:
        """Whether a connection to ``address`` is allowed."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.allow_networks):
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, url: str) -> tuple[str, int, list[str]]:
        """``(host, port, addresses)`` to connect to for ``url``, or :class:`OutboundRefused`.

        Every address the name resolves to must be allowed (a name that also resolves
        to an internal address is refused as a whole).
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise OutboundRefused(url=url, reason="only http(s) URLs are fetched")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise OutboundRefused(url=url, reason="the URL has no host")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise OutboundRefused(url=url, reason="the port is invalid") from None
        literal = _literal(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise OutboundRefused(
                    url=url, reason=f"'{host}' cannot be resolved ({exc})"
                ) from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(i[4][0]) for i in infos))
        trusted = host in self.allow_hosts or (scheme, host, port) in self.own_origins
        if not trusted:
            for address in addresses:
                if not self.allows_address(address):
                    raise OutboundRefused(
                        url=url,
                        reason=f"'{host}' is an internal address ({address}); the server's "
                        "admin can allow it with EOSTATION_OUTBOUND_ALLOW",
                    )
        return host, port, [str(a) for a in addresses]

    def check(self, url: str) -> None:
        """Raise :class:`OutboundRefused` unless ``url`` may be fetched (resolves it)."""
        self.resolve(url)

    def client(self, *, timeout: float = 60.0, **kwargs: Any) -> httpx.Client:
        """An httpx client whose every request and redirect hop passes this policy."""
        import httpx  # here: most users of the policy never build a client

        from eostation.outbound_transport import GuardedTransport

        return httpx.Client(
            transport=GuardedTransport(self),
            follow_redirects=True,
            max_redirects=10,
            timeout=timeout,
            trust_env=False,  # a proxy from the environment would hide the real target
            **kwargs,
        )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return (
        parts.scheme,
        parts.hostname.lower(),
        parts.port or (443 if parts.scheme == "https" else 80),
    )

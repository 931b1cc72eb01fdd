"""A loopback HTTP proxy that applies the outbound policy to every connection GDAL makes.

GDAL (rasterio, odc-stac) resolves host names and follows redirects itself, and has no
option that refuses address ranges. :func:`guard_gdal` starts this proxy on 127.0.0.1 in
a process of its own (GDAL calls may hold the GIL while they fetch, so a proxy thread in
the same interpreter could deadlock) and points ``GDAL_HTTP_PROXY``/``GDAL_HTTPS_PROXY``
at it (in ``os.environ``, so Dask workers and runners started afterwards inherit it).
The proxy process ends when the process that started it does. For each connection the proxy resolves the
target once with :meth:`OutboundPolicy.resolve`, refuses internal addresses with a 403,
and connects to the checked address: ``CONNECT host:443`` tunnels (TLS stays end to end
between GDAL and the server) and plain ``GET http://…`` requests alike. A redirect is a
new request from GDAL, so it passes the proxy, and the check, again.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import select
import socket
import socketserver
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from eostation.errors import OutboundRefused
from eostation.outbound import OutboundPolicy

if TYPE_CHECKING:
    from eostation.config import Settings

__all__ = ["GuardingProxy", "guard_gdal", "start_proxy"]

_log = logging.getLogger("eostation.outbound")
_MAX_HEAD = 64 * 1024
_IDLE_SECONDS = 120.0


class GuardingProxy:
    """The proxy server; ``address`` is ``127.0.0.1:port`` once started."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> GuardingProxy:
        """Serve in a daemon thread."""
        threading.Thread(
            target=self._server.serve_forever, daemon=True, name="outbound-proxy"
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) > _MAX_HEAD:
                return
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return _answer(client, 400, "malformed request line")
        tunnel = method.upper() == "CONNECT"
        url = f"https://{target}/" if tunnel else target
        try:
            _, port, addresses = self.policy.resolve(url)
        except OutboundRefused as exc:
            _log.warning("outbound proxy refused %s: %s", target, exc.message)
            return _answer(client, 403, exc.message)
        try:
            upstream = socket.create_connection((addresses[0], port), timeout=30)
        except OSError as exc:
            return _answer(client, 502, f"cannot connect to {target}: {exc}")
        with upstream:
            if tunnel:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
            else:
                parts = urlsplit(target)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [
                    line
                    for line in lines[1:]
                    if line.split(":", 1)[0].strip().lower()
                    not in ("proxy-connection", "proxy-authorization", "connection")
                ]
                request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close"])
                upstream.sendall(request.encode("latin-1") + b"\r\n\r\n" + rest)
            _pipe(client, upstream)


def _answer(client: socket.socket, status: int, message: str) -> None:
    body = message.encode()
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    client.sendall(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until one side closes or both stay idle too long."""
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], _IDLE_SECONDS)
        if not readable:
            return
        for source in readable:
            target = b if source is a else a
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            target.sendall(data)


def start_proxy(allow: str, own_urls: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """A proxy process for ``OutboundPolicy.parse(allow, own_urls)`` and its address."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "eostation.outbound_proxy", str(os.getpid()), allow, *own_urls],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().decode().strip()
    if not address:
        proc.kill()
        raise RuntimeError("the outbound proxy did not start")
    atexit.register(proc.kill)
    return proc, address


def guard_gdal(settings: Settings) -> subprocess.Popen[bytes]:
    """Route GDAL's HTTP(S) of this process (and those it starts later) through a proxy
    applying ``settings``' outbound policy."""
    proc, address = start_proxy(settings.outbound_allow, [settings.base_url])
    os.environ["GDAL_HTTP_PROXY"] = address
    os.environ["GDAL_HTTPS_PROXY"] = address
    return proc


def main() -> None:
    """``python -m eostation.outbound_proxy PARENT_PID ALLOW [OWN_URL ...]``."""
    parent, allow, *own = sys.argv[1:]
    proxy = GuardingProxy(OutboundPolicy.parse(allow, own)).start()
    print(proxy.address, flush=True)
    while os.getppid() == int(parent):  # ends with the server
        time.sleep(0.5)


if __name__ == "__main__":
    main()

"""Serve a test's ``http.server`` on a loopback address in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import BaseServer
from typing import TypeVar

# ``serve_forever`` checks for shutdown once per poll interval; the default of 0.5 s made
# every test that stops a server wait up to half a second in its teardown.
POLL_INTERVAL_S = 0.01

Server = TypeVar("Server", bound=BaseServer)


def start(server: BaseServer) -> None:
    """Serve ``server`` in a daemon thread that :func:`stop` ends within a poll interval."""
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True
    ).start()


def stop(server: BaseServer) -> None:
    """Stop serving and close the listening socket."""
    server.shutdown()
    server.server_close()


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve ``server`` for the ``with`` block, then stop it and close its socket."""
    start(server)
    try:
        yield server
    finally:
        stop(server)

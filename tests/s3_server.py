"""An S3 emulator for tests: moto's server mode on a free loopback port.

moto answers the S3 API as AWS does (buckets, multipart uploads, listings) and keeps its
objects in the test process, so stopping and starting the server on the same port
(:meth:`S3Emulator.outage`) refuses every connection meanwhile and keeps the data: an
object store that is down for a while. Without moto the tests skip, and fail with
``CI=true`` (it is in the ``dev`` extra).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port


class _Recorder:
    """WSGI middleware in front of moto: logs each request, refuses writes when told to."""

    def __init__(self) -> None:
        self.app: Any = None
        self.log: list[tuple[str, str, str]] | None = None
        self.writes_left: int | None = None
        self.writes_matching = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if self.log is not None:
            self.log.append((method, path, environ.get("QUERY_STRING", "")))
        counted = method in ("PUT", "POST") and self.writes_matching in path
        if counted and self.writes_left is not None:
            if self.writes_left <= 0:
                body = b"<Error><Code>AccessDenied</Code><Message>writes refused</Message></Error>"
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [body]
            self.writes_left -= 1
        return self.app(environ, start_response)


class S3Emulator:
    """moto's S3 server on 127.0.0.1; :meth:`bucket` gives each test its own bucket."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._lock = threading.Lock()
        self._recorder = _Recorder()

    def start(self) -> S3Emulator:
        self._server.start()
        self._hook()
        return self

    def _hook(self) -> None:
        wsgi = self._server._server  # werkzeug's server: it calls ``.app`` per request
        assert wsgi is not None
        self._recorder.app = wsgi.app
        wsgi.app = self._recorder

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, str]]]:
        """Inside the block, the list receives ``(method, path, query)`` of every request."""
        log: list[tuple[str, str, str]] = []
        self._recorder.log = log
        try:
            yield log
        finally:
            self._recorder.log = None

    @contextlib.contextmanager
    def refusing_writes(self, after: int = 0, matching: str = "") -> Iterator[None]:
        """Answer 403 AccessDenied to the PUTs/POSTs with ``matching`` in their path after
        the first ``after`` of them."""
        self._recorder.writes_left, self._recorder.writes_matching = after, matching
        try:
            yield
        finally:
            self._recorder.writes_left, self._recorder.writes_matching = None, ""

    def stop(self) -> None:
        self._server.stop()

    @property
    def options(self) -> dict[str, Any]:
        """fsspec/s3fs storage options for this emulator (any key is accepted)."""
        return {
            "endpoint_url": self.endpoint,
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"region_name": "us-east-1"},
            "skip_instance_cache": True,
        }

    def bucket(self) -> str:
        """A new empty bucket; returns its name."""
        import boto3

        name = "t-" + uuid.uuid4().hex[:12]
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)
        return name

    def env(self, url: str) -> dict[str, str]:
        """The environment of an eostation process storing results under ``url``."""
        import json

        options = {k: v for k, v in self.options.items() if k != "skip_instance_cache"}
        return {
            "EOSTATION_STORAGE__RESULTS_URL": url,
            "EOSTATION_STORAGE__OPTIONS": json.dumps(options),
        }

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Refuse every connection inside the block (the objects are kept)."""
        with self._lock:
            self._server.stop()
            try:
                yield
            finally:
                self._start_again()

    def _start_again(self) -> None:
        from moto.server import ThreadedMotoServer

        deadline = time.monotonic() + 10
        while True:  # the port may linger for a moment after the stop
            try:
                self._server = ThreadedMotoServer(
                    ip_address="127.0.0.1", port=self.port, verbose=False
                )
                self._server.start()
                self._hook()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _require_moto() -> None:
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError:
        reason = "moto[server] and s3fs are absent: pip install -e '.[dev]'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_emulator() -> Iterator[S3Emulator]:
    """One S3 emulator for the session."""
    _require_moto()
    server = S3Emulator().start()
    yield server
    server.stop()

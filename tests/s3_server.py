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


class S3Emulator:
    """moto's S3 server on 127.0.0.1; :meth:`bucket` gives each test its own bucket."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._lock = threading.Lock()

    def start(self) -> S3Emulator:
        self._server.start()
        return self

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

"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server with the accounts alice/wonderland and bob/builder (one per module)."""
    server = LiveServer(tmp_path_factory.mktemp("two-users") / "data")
    server.data_dir.mkdir(parents=True)
    server.users("add", "alice", "--password", "wonderland")
    server.users("add", "bob", "--password", "builder")
    yield server.start()
    server.stop()

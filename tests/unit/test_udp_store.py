"""The user-defined process store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eostation.errors import ProcessGraphNotFound
from eostation.migrations import open_database
from eostation.udps import UdpStore

GRAPH = {
    "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
}


@pytest.fixture
def store(database_url: str) -> Iterator[UdpStore]:
    engine = open_database(database_url)
    yield UdpStore(engine)
    engine.dispose()


def test_put_replace_list_and_delete_per_user(store: UdpStore) -> None:
    store.put("alice", "ndvi", {**GRAPH, "summary": "first"})
    store.put("alice", "evi", GRAPH)
    store.put("bob", "ndvi", {**GRAPH, "summary": "bob's"})
    store.put("alice", "ndvi", {**GRAPH, "summary": "second", "id": "ignored"})
    assert store.require("alice", "ndvi") == {**GRAPH, "summary": "second", "id": "ndvi"}
    assert [p["id"] for p in store.list("alice")] == ["evi", "ndvi"]
    assert store.get("bob", "ndvi") == {**GRAPH, "summary": "bob's", "id": "ndvi"}
    store.delete("alice", "ndvi")
    assert store.get("alice", "ndvi") is None and store.get("bob", "ndvi") is not None
    with pytest.raises(ProcessGraphNotFound):
        store.delete("alice", "ndvi")
    with pytest.raises(ProcessGraphNotFound):
        store.require("carol", "evi")

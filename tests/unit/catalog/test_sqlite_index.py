from __future__ import annotations

from pathlib import Path

import pytest

from eostation.catalog import ItemQuery
from eostation.catalog.index import ItemIndex
from eostation.catalog.sqlite import SqliteItemIndex

from .index_tests import ItemIndexTests, make_item


class TestSqliteItemIndex(ItemIndexTests):
    @pytest.fixture
    def index(self, tmp_path: Path) -> ItemIndex:
        return SqliteItemIndex(tmp_path / "items.db")


def test_index_survives_reopening(tmp_path: Path) -> None:
    index = SqliteItemIndex(tmp_path / "items.db")
    index.upsert([make_item("a"), make_item("b", day=3)])
    index.close()
    again = SqliteItemIndex(tmp_path / "items.db")
    assert [i["id"] for i in again.search(ItemQuery()).items] == ["b", "a"]


def test_writes_of_another_connection_are_seen(tmp_path: Path) -> None:
    reader = SqliteItemIndex(tmp_path / "items.db")
    writer = SqliteItemIndex(tmp_path / "items.db")
    writer.upsert([make_item("a")])
    assert reader.search(ItemQuery()).matched == 1
    writer.upsert([make_item("b", day=3)])  # e.g. another API replica or process
    page = reader.search(ItemQuery())
    assert page.matched == 2 and page.items[0]["id"] == "b"

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

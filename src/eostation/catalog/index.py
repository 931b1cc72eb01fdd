"""The items index interface: what an embedded (SQLite) or scaled (pgstac) index provides.

An index stores STAC Item dicts of the collections whose items are real records
(local files, the archive, job results) and answers :class:`ItemQuery` searches.
Each implementation passes ``tests.unit.catalog.index_tests.ItemIndexTests``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .query import ItemPage, ItemQuery

__all__ = ["ItemIndex"]


class ItemIndex(Protocol):
    """Stored items, searchable by collection, id, footprint, time and properties."""

    def upsert(self, items: Iterable[dict[str, Any]], owner: str | None = None) -> int:
        """Insert or replace items (keyed by ``collection`` and ``id``); returns the count.

        ``owner`` makes the items private: only a query with that ``user_id`` sees them.
        """
        ...

    def delete(self, collection: str, ids: Iterable[str] | None = None) -> int:
        """Remove some items of a collection (all when ``ids`` is None); returns the count."""
        ...

    def replace(
        self,
        collection: str,
        items: Iterable[dict[str, Any]],
        state: str,
        owner: str | None = None,
    ) -> int:
        """Swap all items of a collection for new ones at once and remember ``state``."""
        ...

    def state(self, collection: str) -> str | None:
        """What :meth:`replace` last recorded for a collection (e.g. a files signature)."""
        ...

    def search(self, query: ItemQuery) -> ItemPage:
        """Items matching the query, in its order, one page of it."""
        ...

    def get(self, collection: str, item_id: str, user_id: str | None) -> dict[str, Any]:
        """One item visible to the user; ``ItemNotFound`` otherwise."""
        ...

    def counts(self, user_id: str | None) -> dict[str, int]:
        """Items per collection visible to the user."""
        ...

    def close(self) -> None:
        """Release the index's resources."""
        ...

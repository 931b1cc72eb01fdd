"""The catalogue: items of every collection that has them, behind one :class:`Catalog`.

- demo collections: computed per query (:mod:`eostation.catalog.demo`);
- indexed collections (local files, the archive, job results): the :class:`ItemIndex`;
- STAC-backed collections: passed through to the upstream API (:mod:`.upstream`).

A search over several of them asks each for its first ``offset + limit`` items in the
query's order and merges them, so paging is consistent across sources.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shapely.geometry import box

from eostation.errors import CollectionNotFound, ItemNotFound, RequestInvalid

from .demo import DemoCollection, demo_collection, search_stubs
from .demo.base import Stub, day_range
from .index import ItemIndex
from .match import sort_key
from .query import ItemPage, ItemQuery

__all__ = ["CatalogService", "results_collection_id"]

#: The largest ``offset + limit`` a search may reach (CDSE caps skipping at 10,000 too).
MAX_WINDOW = 20_000


def results_collection_id(user_id: str) -> str:
    """The private collection holding a user's job-result items."""
    return f"results-{user_id}"


class CatalogService:
    """:class:`~eostation.catalog.Catalog` over a collection registry and an items index."""

    def __init__(
        self,
        sources: Iterable[Any],
        index: ItemIndex,
        upstream: Mapping[str, Callable[[ItemQuery], ItemPage]] | None = None,
        sync_user: Callable[[str], None] | None = None,
        sync_shared: Callable[[], object] | None = None,
    ) -> None:
        self.index = index
        #: Called before a user's private items are read (mirrors their job results).
        self.sync_user = sync_user
        #: Called before indexed items are read by anyone (mirrors the archives' holdings).
        self.sync_shared = sync_shared
        self.demo: dict[str, DemoCollection] = {}
        self.indexed: dict[str, Any] = {}
        for source in sources:
            demo = demo_collection(source)
            if demo is not None:
                self.demo[demo.stac_id] = demo
            elif source.id not in (upstream or {}):
                self.indexed[source.id] = source
        self.upstream = dict(upstream or {})

    def _sync(self, user_id: str | None) -> None:
        if self.sync_shared is not None:
            self.sync_shared()
        if user_id is not None and self.sync_user is not None:
            self.sync_user(user_id)

    # -- collections ---------------------------------------------------------------------

    def collection_ids(self, user_id: str | None) -> list[str]:
        """Every catalogue collection the user can see."""
        ids = [*self.demo, *self.indexed, *self.upstream]
        if user_id is not None:
            ids.append(results_collection_id(user_id))
        return list(dict.fromkeys(ids))

    def collections(self, user_id: str | None) -> list[dict[str, Any]]:
        """STAC Collection documents (without ``links``)."""
        return [self.collection(c, user_id) for c in self.collection_ids(user_id)]

    def collection(self, collection_id: str, user_id: str | None) -> dict[str, Any]:
        """One STAC Collection document (without ``links``)."""
        if collection_id in self.demo:
            demo = self.demo[collection_id]
            doc = demo.source.metadata()
            doc["id"] = collection_id
            doc["eostation:collection"] = demo.source.id
            doc["summaries"].setdefault("constellation", [demo.constellation])
            doc["summaries"].setdefault("instruments", list(demo.instruments))
            doc["summaries"]["product:type"] = [demo.product_type]
            return doc
        if collection_id in self.indexed:
            doc = copy.deepcopy(self.indexed[collection_id].metadata())
            doc["eostation:collection"] = collection_id
            return dict(doc)
        if collection_id in self.upstream:
            return _plain_collection(collection_id, "Items of an upstream STAC API.")
        if user_id is not None and collection_id == results_collection_id(user_id):
            return _plain_collection(collection_id, f"Batch job results of {user_id}.")
        raise CollectionNotFound(identifier=collection_id)

    # -- items ---------------------------------------------------------------------------

    def item(self, collection_id: str, item_id: str, user_id: str | None) -> dict[str, Any]:
        """One item."""
        if collection_id in self.demo:
            stub = self.demo[collection_id].lookup(item_id)
            if stub is None:
                raise ItemNotFound(item_id=item_id, collection_id=collection_id)
            return self.demo[collection_id].items_from_stubs([stub])[0]
        if collection_id in self.upstream:
            page = self.upstream[collection_id](
                ItemQuery(collections=(collection_id,), ids=(item_id,), limit=1)
            )
            if not page.items:
                raise ItemNotFound(item_id=item_id, collection_id=collection_id)
            return page.items[0]
        self.collection(collection_id, user_id)  # CollectionNotFound before ItemNotFound
        self._sync(user_id)
        return self.index.get(collection_id, item_id, user_id)

    def demo_stub(self, collection_id: str, item_id: str) -> tuple[DemoCollection, Stub]:
        """The demo collection and stub of a demo item (for its asset renderer)."""
        demo = self.demo.get(collection_id)
        stub = demo.lookup(item_id) if demo else None
        if demo is None or stub is None:
            raise ItemNotFound(item_id=item_id, collection_id=collection_id)
        return demo, stub

    def search(self, query: ItemQuery) -> ItemPage:
        """Items of every collection in scope, merged in the query's order."""
        if query.offset < 0 or query.limit < 1:
            raise RequestInvalid(reason="limit must be ≥ 1 and the offset ≥ 0.")
        window = query.offset + query.limit
        if window > MAX_WINDOW:
            raise RequestInvalid(
                reason=f"limit/offset: results beyond the first {MAX_WINDOW} cannot be paged "
                "to; narrow the search."
            )
        scope = self._scope(query)
        head = dataclasses.replace(query, offset=0, limit=window)
        # Parts hold item dicts or (demo collection, stub) pairs: a demo document is
        # built only when it lands on the page.
        parts: list[list[Any]] = []
        matched: int | None = 0
        demo = [c for c in scope if c in self.demo]
        if demo:
            demo_parts, n = self._search_demo(demo, head)
            parts += demo_parts
            matched = n
        indexed = [c for c in scope if c not in self.demo and c not in self.upstream]
        if indexed:
            self._sync(query.user_id)
            page = self.index.search(dataclasses.replace(head, collections=tuple(indexed)))
            parts.append(page.items)
            matched = None if matched is None or page.matched is None else matched + page.matched
        for cid in (c for c in scope if c in self.upstream):
            page = self.upstream[cid](dataclasses.replace(head, collections=(cid,)))
            parts.append(page.items)
            matched = None if matched is None or page.matched is None else matched + page.matched
        key = sort_key(query.sortby)

        def either(x: Any) -> Any:
            if isinstance(x, dict):
                return key(x)
            coll, stub = x
            return key({"id": stub.id, "collection": coll.stac_id,
                        "properties": {"datetime": stub.stamp}})  # fmt: skip

        chosen = list(heapq.merge(*parts, key=either))[query.offset : window]
        built: dict[int, dict[str, Any]] = {}
        for coll in {id(x[0]): x[0] for x in chosen if not isinstance(x, dict)}.values():
            mine = [
                (i, x[1]) for i, x in enumerate(chosen) if not isinstance(x, dict) and x[0] is coll
            ]
            docs = coll.items_from_stubs([stub for _, stub in mine])
            built.update({i: doc for (i, _), doc in zip(mine, docs, strict=True)})
        items = [x if isinstance(x, dict) else built[i] for i, x in enumerate(chosen)]
        return ItemPage(items=items, matched=matched if query.count else None)

    def _scope(self, query: ItemQuery) -> list[str]:
        visible = self.collection_ids(query.user_id)
        if query.collections is None:
            return visible
        for cid in query.collections:
            if cid not in visible:
                raise CollectionNotFound(identifier=cid)
        return list(query.collections)

    def _search_demo(self, ids: list[str], query: ItemQuery) -> tuple[list[list[Any]], int]:
        if query.intersects is None:
            if query.ids is None:
                raise RequestInvalid(
                    reason=f"bbox/intersects: the demo collections ({', '.join(ids)}) cover "
                    "the whole Earth every few days; give a bbox or intersects geometry, "
                    "or item ids."
                )
            region = box(-180.0, -90.0, 180.0, 90.0)
        else:
            region = query.intersects
        first, stop = day_range(query)
        parts: list[list[Any]] = []
        total = 0
        for cid in ids:
            demo = self.demo[cid]
            if query.ids is not None and query.intersects is None:
                stubs = [s for i in query.ids if (s := demo.lookup(i)) is not None]
            else:
                stubs = demo.cached_stubs(region, first, stop)
            ordered, n = search_stubs(demo, stubs, query)
            total += n
            window = ordered[: query.offset + query.limit]
            parts.append([d if isinstance(d, dict) else (demo, d) for d in window])
        return parts, total


def _plain_collection(collection_id: str, description: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": collection_id,
        "description": description,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[None, None]]},
        },
    }

"""The OData catalogue without HTTP: product search, lookup by Id or name, nodes, packages."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from eostation.errors import ItemNotFound

from ..query import Catalog, ItemQuery
from .entity import PackageInfo, item_id_of, product_entity, product_id
from .ids import ProductIds
from .options import MAX_SKIP, ProductQuery
from .package import ProductPackages
from .package.packages import FileResolver

__all__ = ["ODataCatalogue", "ProductPage", "build_odata"]


@dataclass(frozen=True)
class ProductPage:
    """One page of products; ``next_skip`` is the ``$skip`` of the next page, if any."""

    products: list[dict[str, Any]]
    count: int | None
    next_skip: int | None


#: Seconds a user's collection list is reused (a new job-results collection shows up after it).
_COLLECTIONS_TTL = 10.0


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


class ODataCatalogue:
    """CDSE's OData product catalogue over the items catalogue."""

    def __init__(self, catalog: Catalog, packages: ProductPackages, ids: ProductIds) -> None:
        self.catalog = catalog
        self.packages = packages
        self._ids = ids
        self._listed: dict[str | None, tuple[float, list[dict[str, Any]]]] = {}

    # -- collections --------------------------------------------------------------------

    def _catalogue_ids(self, openeo_ids: Iterable[str], user_id: str | None) -> list[str]:
        """Catalogue collection ids behind openEO collection ids (or equal to them)."""
        wanted = set(openeo_ids)
        out = []
        for doc in self._collections(user_id):
            behind = doc.get("eostation:collection") or doc.get("summaries", {}).get(
                "eostation:collection"
            )
            names = {doc["id"], *(behind if isinstance(behind, list) else [behind])}
            if names & wanted:
                out.append(str(doc["id"]))
        return out

    def _collections(self, user_id: str | None) -> list[dict[str, Any]]:
        """The user's catalogue collections, kept for a few seconds: listing them may count
        the items of every collection, which a search must not pay each time."""
        now = time.monotonic()
        cached = self._listed.get(user_id)
        if cached is None or now - cached[0] > _COLLECTIONS_TTL:
            if len(self._listed) > 1000:
                self._listed.clear()
            cached = (now, self.catalog.collections(user_id))
            self._listed[user_id] = cached
        return cached[1]

    def _rewrite(self, expr: Any, user_id: str | None) -> Any:
        """Collection conditions of a filter in catalogue ids."""
        if isinstance(expr, dict) and expr.get("op") == "in":
            args = expr["args"]
            if args[0] == {"property": "collection"}:
                return {"op": "in", "args": [args[0], self._catalogue_ids(args[1], user_id)]}
        if isinstance(expr, dict) and "args" in expr:
            return {**expr, "args": [self._rewrite(a, user_id) for a in expr["args"]]}
        return expr

    # -- products -----------------------------------------------------------------------

    def _entities(
        self, items: Sequence[Mapping[str, Any]], query: ProductQuery | None, link: str
    ) -> list[dict[str, Any]]:
        self._ids.remember(
            (product_id(str(i["collection"]), str(i["id"])), str(i["collection"]), str(i["id"]))
            for i in items
        )
        out = []
        for item in items:
            pid = product_id(str(item["collection"]), str(item["id"]))
            out.append(
                product_entity(
                    item,
                    self.packages.info(item),
                    expand=query.expand if query else (),
                    select=query.select if query else None,
                    download_url=link.format(id=pid),
                )
            )
        return out

    def search(self, query: ProductQuery, user_id: str | None, link: str) -> ProductPage:
        """Products matching the query (``link``: the ``$value`` URL with ``{id}``)."""
        flt = query.filter
        collections = None
        if flt.collections is not None:
            collections = tuple(self._catalogue_ids(flt.collections, user_id))
        if collections == () or flt.ids == ():
            return ProductPage([], 0 if query.count else None, None)
        window = None
        if flt.datetime is not None:
            window = (_dt(flt.datetime[0]), _dt(flt.datetime[1]))
        item_query = ItemQuery(
            collections=collections,
            ids=flt.ids,
            intersects=flt.intersects,
            datetime=window,
            filter=self._rewrite(flt.filter, user_id),
            filter_trusted=True,  # translated from the parsed $filter, not a client's CQL2
            sortby=query.orderby,
            limit=query.top,
            offset=query.skip,
            count=query.count,
            user_id=user_id,
        )
        page = self.catalog.search(item_query) if query.top > 0 or query.count else None
        items = page.items if page and query.top > 0 else []
        after = query.skip + len(items)
        more = len(items) == query.top > 0 and (
            page is None or page.matched is None or after < page.matched
        )
        return ProductPage(
            self._entities(items, query, link),
            page.matched if page and query.count else None,
            after if more and after <= MAX_SKIP else None,
        )

    def item(self, pid: str, user_id: str | None) -> dict[str, Any]:
        """The item of a product Id visible to the user; ``ItemNotFound`` otherwise."""
        where = self._ids.resolve(pid.lower())
        if where is None:
            raise ItemNotFound(item_id=pid, collection_id="Products")
        return self.catalog.item(where[0], where[1], user_id)

    def product(
        self, pid: str, user_id: str | None, expand: Iterable[str], link: str
    ) -> dict[str, Any]:
        """One product entity."""
        item = self.item(pid, user_id)
        query = ProductQuery(expand=frozenset(expand))
        return self._entities([item], query, link)[0]

    def by_names(
        self, names: Sequence[str], user_id: str | None, link: str
    ) -> list[dict[str, Any]]:
        """Products with these names, in the given order; unknown names are skipped."""
        ids = list(dict.fromkeys(v for n in names for v in (n, item_id_of(n))))
        if not ids:
            return []
        page = self.catalog.search(
            ItemQuery(
                ids=tuple(ids),
                limit=len(ids),
                count=False,
                user_id=user_id,
            )
        )
        found: dict[str, dict[str, Any]] = {}
        for entity in self._entities(page.items, None, link):
            found.setdefault(entity["Name"], entity)
        return [found[n] for n in names if n in found] + [
            e for n, e in found.items() if n not in names and item_id_of(n) in set(names)
        ]

    def package(self, pid: str, user_id: str | None) -> tuple[Path, str]:
        """The product's zip (built now if needed) and its file name."""
        item = self.item(pid, user_id)
        path = self.packages.path(item)
        return path, product_entity(item, PackageInfo(0))["Name"] + ".zip"

    def nodes(self, pid: str, user_id: str | None, path: Sequence[str]) -> list[dict[str, Any]]:
        """Children of a folder of the product (``path`` empty: the product's top level)."""
        zip_path, _ = self.package(pid, user_id)
        with zipfile.ZipFile(zip_path) as zf:
            infos = [(PurePosixPath(i.filename).parts, i.file_size) for i in zf.infolist()]
        prefix = tuple(path)
        if prefix and not any(
            parts[: len(prefix)] == prefix and len(parts) > len(prefix) for parts, _ in infos
        ):
            raise ItemNotFound(item_id="/".join(prefix), collection_id=pid)
        sizes: dict[str, int] = {}
        below: dict[str, set[str]] = {}
        for parts, size in infos:
            if parts[: len(prefix)] != prefix or len(parts) <= len(prefix):
                continue
            name = parts[len(prefix)]
            below.setdefault(name, set())
            if len(parts) == len(prefix) + 1:
                sizes[name] = size
            else:
                below[name].add(parts[len(prefix) + 1])
        return [
            {
                "Id": name,
                "Name": name,
                "ContentLength": sizes.get(name, 0),
                "ChildrenNumber": len(below[name]),
            }
            for name in below
        ]


def build_odata(
    settings: Any,
    db: Any,
    collections: Any,
    catalog: Catalog,
    files: FileResolver | None = None,
) -> ODataCatalogue:
    """The OData catalogue of a server: packages cached under the data dir; ``files``
    finds the files of items that are not demo products."""
    cache = settings.odata.cache_dir or settings.data_dir / "odata"
    max_pixels = settings.odata.product_max_pixels or None
    packages = ProductPackages(collections, cache, max_pixels, files)
    return ODataCatalogue(catalog, packages, ProductIds(db))

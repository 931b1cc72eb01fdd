"""STAC-backed collections: item searches passed through to the upstream API (no copy).

The query travels as a STAC ``POST /search`` (``intersects``, ``datetime``, CQL2-JSON
``filter``, ``sortby``); returned items are relabelled with the local collection id.
A static catalogue (no item search) is read and filtered here. Every upstream request
goes through :func:`post_json` or :func:`eostation.data.stac.items.fetch_json`, so an
outbound-request guard can be applied in one place.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from shapely.geometry import mapping

from eostation.errors import RequestInvalid
from eostation.outbound import OutboundPolicy

from .match import compile_filter, matches, page
from .query import ItemPage, ItemQuery

__all__ = ["UpstreamSearch", "post_json"]

_SEARCH = ("item-search", "/item-search")


def post_json(
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    outbound: OutboundPolicy | None = None,
) -> dict[str, Any]:
    """POST a JSON body and decode the JSON answer (the one outbound call of this module),
    through ``outbound`` when given."""
    if outbound is None:
        response = httpx.post(url, json=dict(body), headers=dict(headers), timeout=60)
    else:
        with outbound.client(timeout=60) as http:
            response = http.post(url, json=dict(body), headers=dict(headers))
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    return doc


class UpstreamSearch:
    """Search one STAC-backed collection through its upstream API or static catalogue."""

    def __init__(
        self,
        collection_id: str,
        url: str,
        upstream_collection: str | None,
        headers: Callable[[], dict[str, str]],
        post: Callable[[str, Mapping[str, Any], Mapping[str, str]], dict[str, Any]] | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.collection_id = collection_id
        self.url = url
        self.upstream_collection = upstream_collection or collection_id
        self.headers = headers
        # The collection's own guard (None: a local catalogue, the admin's file).
        self.outbound = outbound
        self.post = post or functools.partial(post_json, outbound=outbound)

    def __call__(self, query: ItemQuery) -> ItemPage:
        """Items of the upstream collection matching the query (one page of it)."""
        from eostation.data.stac.guarded import GuardedStacIO
        from eostation.data.stac.items import fetch_json

        headers = self.headers()
        io = GuardedStacIO(self.outbound, headers) if self.outbound is not None else None
        try:
            doc = fetch_json(self.url, headers, io)
            if any(str(c).endswith(_SEARCH) for c in doc.get("conformsTo", [])):
                return self._api(query)
            return self._static(query)
        except httpx.HTTPError as exc:
            raise RequestInvalid(
                reason=f"collections: the upstream STAC of '{self.collection_id}' failed: {exc}"
            ) from None

    def _api(self, query: ItemQuery) -> ItemPage:
        body: dict[str, Any] = {
            "collections": [self.upstream_collection],
            "limit": query.offset + query.limit,
        }
        if query.ids is not None:
            body["ids"] = list(query.ids)
        if query.intersects is not None:
            body["intersects"] = mapping(query.intersects)
        if query.datetime is not None:
            lo, hi = query.datetime
            iso = [v.isoformat().replace("+00:00", "Z") if v else ".." for v in (lo, hi)]
            body["datetime"] = "/".join(iso)
        if query.filter is not None:
            body.update({"filter": query.filter, "filter-lang": "cql2-json"})
        if query.sortby:
            body["sortby"] = [{"field": f, "direction": d} for f, d in query.sortby]
        answer = self.post(self.url.rstrip("/") + "/search", body, self.headers())
        items = [self._relabel(i) for i in answer.get("features", [])]
        matched = answer.get("numberMatched", (answer.get("context") or {}).get("matched"))
        return ItemPage(
            items=items[query.offset : query.offset + query.limit],
            matched=int(matched) if matched is not None and query.count else None,
        )

    def _static(self, query: ItemQuery) -> ItemPage:
        from eostation.data.stac.items import ItemQuery as SourceQuery
        from eostation.data.stac.items import find_items

        found = find_items(
            self.url,
            SourceQuery(None, None, None),
            collection=None,
            headers=self.headers(),
            outbound=self.outbound,
            admin_assets=True,
        )
        expr = compile_filter(query.filter, trusted=query.filter_trusted)
        local = dataclasses.replace(query, collections=None)
        docs = [self._relabel(i.to_dict()) for i in found]
        return page([d for d in docs if matches(d, local, expr)], query)

    def _relabel(self, item: dict[str, Any]) -> dict[str, Any]:
        props = item.setdefault("properties", {})
        props["eostation:upstream_collection"] = item.get("collection")
        item["collection"] = self.collection_id
        item["links"] = [link for link in item.get("links", []) if link.get("rel") != "self"]
        return item

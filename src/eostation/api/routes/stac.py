"""The STAC API at ``/stac/v1``: landing page, collections, items, item search.

Built on :class:`eostation.catalog.CatalogService`; errors on this mount are rendered
in STAC's shape (``{"code", "description"}``) by ``api.handlers``.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from eostation import __version__
from eostation.api.deps import Services, ServicesDep
from eostation.api.stac_params import Fields, parse_search
from eostation.catalog import ItemQuery
from eostation.catalog.service import CatalogService
from eostation.errors import AuthenticationRequired, RequestInvalid

__all__ = ["CONFORMANCE", "STAC_PREFIX", "catalog_of", "router", "stac_base"]

STAC_PREFIX = "/stac/v1"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]

router = APIRouter(prefix=STAC_PREFIX, tags=["STAC API"])


def catalog_of(request: Request) -> CatalogService:
    """The app's catalogue (built by :func:`eostation.api.app.create_app`)."""
    catalog: CatalogService = request.app.state.catalog
    return catalog


def stac_base(request: Request, services: Services) -> str:
    """Absolute URL of the STAC API root, without a trailing slash."""
    base = services.settings.public_url or str(request.base_url)
    return base.rstrip("/") + STAC_PREFIX


def _user_id(request: Request, services: Services) -> str | None:
    """The authenticated user, or None for anonymous access (public collections only)."""
    try:
        return services.auth.authenticate(request.headers.get("authorization")).user_id
    except AuthenticationRequired:
        return None


def _json(body: Any, media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type)


@router.get("", include_in_schema=False)
@router.get("/", summary="STAC API landing page")
def landing(request: Request, services: ServicesDep) -> JSONResponse:
    """The root catalog: conformance classes and links to collections and search."""
    base = stac_base(request, services)
    openeo = (services.settings.public_url or str(request.base_url)).rstrip("/")
    return _json(
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "eostation",
            "title": f"{services.settings.title} STAC API",
            "description": "Items of the demo world, local files, the archive and job results.",
            "conformsTo": CONFORMANCE,
            "eostation:version": __version__,
            "links": [
                {"rel": "self", "href": base + "/", "type": "application/json"},
                {"rel": "root", "href": base + "/", "type": "application/json"},
                {"rel": "conformance", "href": base + "/conformance", "type": "application/json"},
                {"rel": "data", "href": base + "/collections", "type": "application/json"},
                {"rel": "search", "href": base + "/search", "type": GEOJSON, "method": "GET"},
                {"rel": "search", "href": base + "/search", "type": GEOJSON, "method": "POST"},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "href": base + "/queryables",
                    "type": "application/schema+json",
                },
                {
                    "rel": "service-doc",
                    "href": openeo + "/openeo/1.2/",
                    "type": "application/json",
                    "title": "The openEO API of this server",
                },
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance() -> JSONResponse:
    """The conformance classes this STAC API implements."""
    return _json({"conformsTo": CONFORMANCE})


def _collection_doc(doc: dict[str, Any], base: str) -> dict[str, Any]:
    doc = dict(doc)
    cid = doc["id"]
    doc["links"] = [
        {"rel": "self", "href": f"{base}/collections/{cid}", "type": "application/json"},
        {"rel": "root", "href": base + "/", "type": "application/json"},
        {"rel": "parent", "href": base + "/", "type": "application/json"},
        {"rel": "items", "href": f"{base}/collections/{cid}/items", "type": GEOJSON},
        {
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "href": f"{base}/collections/{cid}/queryables",
            "type": "application/schema+json",
        },
    ]
    return doc


@router.get("/collections", summary="Collections with items")
def collections(request: Request, services: ServicesDep) -> JSONResponse:
    """Every catalogue collection the caller can see."""
    base = stac_base(request, services)
    docs = catalog_of(request).collections(_user_id(request, services))
    return _json(
        {
            "collections": [_collection_doc(d, base) for d in docs],
            "links": [
                {"rel": "self", "href": base + "/collections", "type": "application/json"},
                {"rel": "root", "href": base + "/", "type": "application/json"},
            ],
        }
    )


@router.get("/collections/{collection_id}", summary="One collection")
def collection(collection_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    """A catalogue collection."""
    doc = catalog_of(request).collection(collection_id, _user_id(request, services))
    return _json(_collection_doc(doc, stac_base(request, services)))


@router.get("/queryables", summary="Queryables of all collections")
def queryables(request: Request, services: ServicesDep) -> JSONResponse:
    """Properties that ``filter`` can use across collections."""
    return _json(_queryables(stac_base(request, services) + "/queryables", None))


@router.get("/collections/{collection_id}/queryables", summary="Queryables of a collection")
def collection_queryables(
    collection_id: str, request: Request, services: ServicesDep
) -> JSONResponse:
    """Properties that ``filter`` can use on one collection."""
    catalog_of(request).collection(collection_id, _user_id(request, services))
    url = f"{stac_base(request, services)}/collections/{collection_id}/queryables"
    return _json(_queryables(url, collection_id))


def _queryables(url: str, collection_id: str | None) -> dict[str, Any]:
    string, number, integer = {"type": "string"}, {"type": "number"}, {"type": "integer"}
    props: dict[str, Any] = {
        "id": {"title": "Item id", **string},
        "collection": {"title": "Collection id", **string},
        "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
        "datetime": {"title": "Acquisition time", "type": "string", "format": "date-time"},
        "platform": string,
        "constellation": string,
        "eo:cloud_cover": {**number, "minimum": 0, "maximum": 100},
        "sat:relative_orbit": {**integer, "minimum": 1},
        "sat:absolute_orbit": {**integer, "minimum": 1},
        "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
        "product:type": string,
        "processing:level": string,
        "s2:mgrs_tile": string,
        "grid:code": string,
    }
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": f"Queryables of {collection_id or 'all collections'}",
        "properties": props,
        "additionalProperties": True,
    }


def _item_links(item: dict[str, Any], base: str) -> dict[str, Any]:
    """Absolute hrefs and the standard links on an item (a copy)."""
    item = copy.deepcopy(item)
    cid, iid = item.get("collection"), item["id"]
    root = base.removesuffix("/stac/v1")
    for asset in item.get("assets", {}).values():
        href = str(asset.get("href", ""))
        if href.startswith("/"):
            asset["href"] = root + href
    item["links"] = [
        *[link for link in item.get("links", []) if link.get("rel") not in ("self", "root")],
        {"rel": "self", "href": f"{base}/collections/{cid}/items/{iid}", "type": GEOJSON},
        {"rel": "parent", "href": f"{base}/collections/{cid}", "type": "application/json"},
        {"rel": "collection", "href": f"{base}/collections/{cid}", "type": "application/json"},
        {"rel": "root", "href": base + "/", "type": "application/json"},
    ]
    return item


def _select(item: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """Apply the Fields extension: includes first, then excludes (dotted paths)."""
    include, exclude = fields
    if include is not None:
        keep: dict[str, Any] = {}
        for path in ("type", "stac_version", "id", *include):
            _copy_path(item, keep, path.split("."))
        item = keep
    for path in exclude:
        if path in ("id", "type"):
            continue
        *parents, last = path.split(".")
        node: Any = item
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return item


def _copy_path(src: dict[str, Any], dst: dict[str, Any], path: list[str]) -> None:
    head, *rest = path
    if head not in src:
        return
    if not rest:
        dst[head] = src[head]
    elif isinstance(src[head], dict):
        _copy_path(src[head], dst.setdefault(head, {}), rest)


def _search_response(
    request: Request,
    services: Services,
    query: ItemQuery,
    fields: Fields,
    next_link: dict[str, Any] | None,
) -> JSONResponse:
    page = catalog_of(request).search(query)
    base = stac_base(request, services)
    items = [_select(_item_links(i, base), fields) for i in page.items]
    more = page.matched is not None and query.offset + len(items) < page.matched
    links: list[dict[str, Any]] = [{"rel": "root", "href": base + "/", "type": "application/json"}]
    if more and next_link is not None:
        links.append(next_link)
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": items,
        "links": links,
        "numberReturned": len(items),
    }
    if page.matched is not None:
        body["numberMatched"] = page.matched
        body["context"] = {"returned": len(items), "limit": query.limit, "matched": page.matched}
    return _json(body, GEOJSON)


def _get_next(request: Request, services: Services, path: str, query: ItemQuery) -> dict[str, Any]:
    params = dict(request.query_params)
    params["token"] = f"next:{query.offset + query.limit}"
    href = f"{stac_base(request, services)}{path}?{urlencode(params)}"
    return {"rel": "next", "href": href, "type": GEOJSON, "method": "GET"}


@router.get("/search", summary="Item search (GET)")
def search_get(request: Request, services: ServicesDep) -> JSONResponse:
    """Search items across collections with query parameters."""
    query, fields = parse_search(dict(request.query_params), _user_id(request, services))
    return _search_response(
        request, services, query, fields, _get_next(request, services, "/search", query)
    )


@router.post("/search", summary="Item search (POST)")
async def search_post(request: Request, services: ServicesDep) -> JSONResponse:
    """Search items across collections with a JSON body."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestInvalid(reason="body: not valid JSON.") from None
    if not isinstance(body, dict):
        raise RequestInvalid(reason="body: expected a JSON object of search parameters.")
    query, fields = parse_search(body, _user_id(request, services))
    next_link = {
        "rel": "next",
        "href": stac_base(request, services) + "/search",
        "type": GEOJSON,
        "method": "POST",
        "body": {"token": f"next:{query.offset + query.limit}"},
        "merge": True,
    }
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_search_response, request, services, query, fields, next_link)


@router.get("/collections/{collection_id}/items", summary="Items of a collection")
def items(collection_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    """Items of one collection (bbox, datetime, limit and the search parameters)."""
    params = dict(request.query_params)
    if "collections" in params:
        raise RequestInvalid(reason="collections: not allowed here; the path names the collection.")
    params["collections"] = collection_id
    query, fields = parse_search(params, _user_id(request, services))
    path = f"/collections/{collection_id}/items"
    next_link = _get_next(request, services, path, query)
    return _search_response(request, services, query, fields, next_link)


@router.get("/collections/{collection_id}/items/{item_id}", summary="One item")
def item(collection_id: str, item_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    """A single item."""
    doc = catalog_of(request).item(collection_id, item_id, _user_id(request, services))
    return _json(_item_links(doc, stac_base(request, services)), GEOJSON)

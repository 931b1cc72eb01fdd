"""CDSE's OData catalogue at ``/odata/v1``: product search, lookup, nodes and ``$value``.

The paths are CDSE's (catalogue and download hosts), so scripts and eodag change only
the host. Searches are open to anonymous users (as on CDSE) but see a user's private
products (job results) when a token comes along; downloads need a token, in the
``Authorization`` header or, as eodag sends it, in ``?token=``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.responses import FileResponse

from eostation.api.deps import ServicesDep
from eostation.api.guard import is_browser_request
from eostation.catalog.odata.options import parse_options
from eostation.catalog.odata.package.packages import FileResolver
from eostation.catalog.odata.service import ODataCatalogue
from eostation.errors import NotFound, ODataQueryInvalid, OpenEOError
from eostation.jobs.model import JobStatus
from eostation.users import User

__all__ = ["ODATA_PREFIX", "item_files", "router"]

from eostation.api.handlers import ODATA_PREFIX

router = APIRouter(tags=["OData"])
_NODE = re.compile(r"^Nodes\(([^()/]+)\)$")


def _odata(services: Any) -> ODataCatalogue:
    odata: ODataCatalogue | None = getattr(services, "odata", None)
    if odata is None:
        raise NotFound(path=ODATA_PREFIX)
    return odata


def _user(request: Request, services: Any, *, required: bool) -> User | None:
    """The caller: from ``Authorization``, else ``?token=``; None when anonymous is fine.

    A token that is given must be valid (401/403 otherwise), even where anonymous
    access would do: a script with a stale token learns to refresh it.
    """
    header = request.headers.get("authorization")
    token = request.query_params.get("token")
    if not header and token:
        header = f"Bearer {token}"
    browser = is_browser_request(request.headers)
    if header or required:
        user: User = services.auth.authenticate(header, browser=browser)
        return user
    try:
        anonymous: User = services.auth.authenticate(None, browser=browser)  # local mode
    except OpenEOError:
        return None
    return anonymous


def _base(request: Request, services: Any) -> str:
    root = services.settings.public_url or str(request.base_url)
    return root.rstrip("/") + ODATA_PREFIX


def _value_link(request: Request, services: Any) -> str:
    return _base(request, services) + "/Products({id})/$value"


@router.get("/Products")
def search_products(request: Request, services: ServicesDep) -> dict[str, Any]:
    """``$filter``/``$top``/``$skip``/``$count``/``$orderby``/``$expand``/``$select``."""
    params = request.query_params.multi_items()
    query = parse_options(params)
    user = _user(request, services, required=False)
    odata = _odata(services)
    page = odata.search(query, user.user_id if user else None, _value_link(request, services))
    body: dict[str, Any] = {"@odata.context": "$metadata#Products"}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = page.products
    if page.next_skip is not None:
        rest = [(k, v) for k, v in params if k != "$skip"] + [("$skip", str(page.next_skip))]
        body["@odata.nextLink"] = f"{_base(request, services)}/Products?{urlencode(rest)}"
    return body


@router.post("/Products/OData.CSC.FilterList")
def filter_list(
    request: Request, services: ServicesDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Products by name (``{"FilterProducts": [{"Name": …}]}``); unknown names are skipped."""
    entries = body.get("FilterProducts")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("Name"), str) for e in entries
    ):
        raise ODataQueryInvalid(
            "FilterProducts", 'expected a list of {"Name": "<product name>"}', entries
        )
    user = _user(request, services, required=False)
    names = [str(e["Name"]) for e in entries]
    products = _odata(services).by_names(
        names, user.user_id if user else None, _value_link(request, services)
    )
    return {"@odata.context": "$metadata#Products", "value": products}


@router.get("/Products({product_id})")
def get_product(product_id: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    """One product, not wrapped (``$expand`` allowed)."""
    query = parse_options(
        [(k, v) for k, v in request.query_params.multi_items() if k in ("$expand", "$select")]
    )
    user = _user(request, services, required=False)
    entity = _odata(services).product(
        product_id.strip("'"),
        user.user_id if user else None,
        query.expand,
        _value_link(request, services),
    )
    return {"@odata.context": "$metadata#Products/$entity", **entity}


@router.get("/Products({product_id})/$value")
def download_product(product_id: str, request: Request, services: ServicesDep) -> FileResponse:
    """The product's zip; supports ``Range``."""
    user = _user(request, services, required=True)
    assert user is not None
    path, name = _odata(services).package(product_id.strip("'"), user.user_id)
    return FileResponse(path, media_type="application/zip", filename=name)


# HEAD answers like GET (size, ranges) without a second entry in the OpenAPI document.
router.add_api_route(
    "/Products({product_id})/$value", download_product, methods=["HEAD"], include_in_schema=False
)


@router.get("/Products({product_id})/{rest:path}")
def product_nodes(
    product_id: str, rest: str, request: Request, services: ServicesDep
) -> dict[str, Any]:
    """``Nodes``, ``Nodes(<name>)/Nodes``, … : the folder tree of the product."""
    parts = rest.strip("/").split("/")
    if not parts or parts[-1] != "Nodes":
        raise NotFound(path=request.url.path)
    path = []
    for part in parts[:-1]:
        match = _NODE.match(part)
        if match is None:
            raise NotFound(path=request.url.path)
        path.append(match.group(1).strip("'"))
    user = _user(request, services, required=True)
    assert user is not None
    nodes = _odata(services).nodes(product_id.strip("'"), user.user_id, path)
    base = f"{_base(request, services)}/Products({product_id})"
    for node in nodes:
        prefix = "".join(f"/Nodes({p})" for p in [*path, node["Name"]])
        node["Nodes"] = {"uri": f"{base}{prefix}/Nodes"}
    return {"result": nodes}


def item_files(app: FastAPI, services: Any) -> FileResolver:
    """Where the files of non-demo items are: job results and ``files`` collections."""

    def resolve(item: Mapping[str, Any]) -> list[tuple[str, Path]] | None:
        job_id = item.get("properties", {}).get("openeo:job_id")
        if job_id:
            job = services.jobs.store.find(str(job_id))
            if job is None or job.status is not JobStatus.FINISHED:
                return None
            # Asset keys name the band set ("openEO"); the file is the last part of the
            # asset's signed link (jobs.results.result_items).
            names = [
                unquote(str(asset.get("href", "")).rsplit("/", 1)[-1])
                for asset in item.get("assets", {}).values()
            ]
            found = [(name, services.jobs.layout.file(job, name)) for name in names if name]
            return [(name, path) for name, path in found if path is not None] or None
        indexer = getattr(app.state, "files_indexer", None)
        path = indexer.path(str(item.get("collection")), str(item["id"])) if indexer else None
        return [(path.name, path)] if path is not None else None

    return resolve

"""Collections: openEO / STAC collection metadata and queryables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from eostation.api.deps import ServicesDep, api_url

__all__ = ["router"]

router = APIRouter()

# Fields kept in the collection list; the rest is only in the full description.
_SUMMARY_KEYS = (
    "stac_version",
    "stac_extensions",
    "type",
    "id",
    "title",
    "description",
    "keywords",
    "version",
    "deprecated",
    "license",
    "providers",
    "extent",
)


def _links(request: Request, services: ServicesDep, cid: str) -> list[dict[str, Any]]:
    return [
        {
            "rel": "self",
            "href": api_url(request, services, f"/collections/{cid}"),
            "type": "application/json",
        },
        {"rel": "root", "href": api_url(request, services, "/"), "type": "application/json"},
        {
            "rel": "parent",
            "href": api_url(request, services, "/collections"),
            "type": "application/json",
        },
        {
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "href": api_url(request, services, f"/collections/{cid}/queryables"),
            "type": "application/schema+json",
        },
    ]


@router.get("/collections", summary="List collections")
def list_collections(request: Request, services: ServicesDep) -> dict[str, Any]:
    """All collections with their basic metadata."""
    collections = []
    for source in services.collections.all():
        meta = source.metadata()
        entry = {k: meta[k] for k in _SUMMARY_KEYS if k in meta}
        entry["links"] = _links(request, services, source.id)
        collections.append(entry)
    return {
        "collections": collections,
        "links": [
            {
                "rel": "self",
                "href": api_url(request, services, "/collections"),
                "type": "application/json",
            }
        ],
    }


@router.get("/collections/{collection_id}", summary="Describe a collection")
def describe_collection(
    collection_id: str, request: Request, services: ServicesDep
) -> dict[str, Any]:
    """Full STAC metadata of one collection, including ``cube:dimensions`` and ``summaries``."""
    source = services.collections.get(collection_id)
    meta: dict[str, Any] = dict(source.metadata())
    meta["links"] = [*meta.get("links", []), *_links(request, services, source.id)]
    return meta


class SchemaJSONResponse(JSONResponse):
    """JSON with the media type of JSON Schema documents."""

    media_type = "application/schema+json"


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties of a collection",
    response_class=SchemaJSONResponse,
)
def queryables(collection_id: str, request: Request, services: ServicesDep) -> JSONResponse:
    """JSON Schema of the properties ``load_collection(properties=...)`` can filter on."""
    source = services.collections.get(collection_id)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "title": f"Queryables of {collection_id}",
        "properties": {},
        "additionalProperties": False,
    }
    schema.update(source.queryables())
    schema["$id"] = api_url(request, services, f"/collections/{collection_id}/queryables")
    return SchemaJSONResponse(schema)

"""Validate STAC documents against the offline schemas in ../shared/specs/stac-schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "specs" / "stac-schemas"
COLLECTION_SCHEMAS = (
    "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json",
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
)


def stac_validators(schemas: tuple[str, ...] = COLLECTION_SCHEMAS) -> list[Any]:
    """Draft-7 validators resolving schema URLs to the offline copy (skips when absent)."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT7

    if not SCHEMAS.is_dir():
        pytest.skip(f"offline STAC schemas not found at {SCHEMAS}")

    def retrieve(uri: str) -> Any:
        if uri.startswith("https://proj.org/"):
            # PROJJSON schema is not in the offline copy; only EPSG codes are used here.
            return DRAFT7.create_resource({"type": "object"})
        path = SCHEMAS / uri.split("://", 1)[1]
        return referencing.Resource.from_contents(
            json.loads(path.read_text()), default_specification=DRAFT7
        )

    registry = referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]
    return [jsonschema.Draft7Validator({"$ref": url}, registry=registry) for url in schemas]


def assert_valid_collection(doc: dict[str, Any]) -> None:
    """Assert a STAC Collection (``links`` added when missing) passes the offline schemas."""
    doc = {"links": [], **doc}
    for validator in stac_validators():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors


ITEM_SCHEMA = "https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json"
CATALOG_SCHEMA = "https://schemas.stacspec.org/v1.0.0/catalog-spec/json-schema/catalog.json"


def assert_valid_stac(doc: dict[str, Any]) -> None:
    """Assert an Item, Catalog or Collection passes its core schema and every declared
    extension schema that the offline copy holds (the others are not available offline)."""
    core = {
        "Feature": ITEM_SCHEMA,
        "Catalog": CATALOG_SCHEMA,
        "Collection": COLLECTION_SCHEMAS[0],
    }[doc["type"]]
    offline = [
        url
        for url in doc.get("stac_extensions", [])
        if (SCHEMAS / url.split("://", 1)[1]).is_file()
    ]
    for validator in stac_validators((core, *offline)):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors

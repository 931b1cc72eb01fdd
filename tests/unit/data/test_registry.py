"""The collection registry and the STAC documents of every demo collection."""

from __future__ import annotations

import copy
import json

import pytest

from eostation.data.base import CollectionSource
from eostation.data.registry import CollectionRegistry, build_registry
from eostation.errors import CollectionNotFound
from tests.stac_check import stac_validators

EXPECTED = {
    "SENTINEL2_L2A",
    "SENTINEL1_GRD",
    "SENTINEL3_OLCI_L1B",
    "SENTINEL3_SLSTR",
    "SENTINEL3_SYN_L2_SYN",
    "SENTINEL3_SLSTR_L2_LST",
    "SENTINEL_5P_L2",
    "COPERNICUS_30",
}


@pytest.fixture(scope="module")
def registry() -> CollectionRegistry:
    return build_registry()


def test_registry_lists_the_demo_collections(registry: CollectionRegistry) -> None:
    assert set(registry.ids()) == EXPECTED
    assert [s.id for s in registry.all()] == registry.ids()
    assert all(isinstance(s, CollectionSource) for s in registry.all())


def test_unknown_collection_raises(registry: CollectionRegistry) -> None:
    with pytest.raises(CollectionNotFound) as err:
        registry.get("NOPE")
    assert "NOPE" in err.value.message and err.value.status == 404


def test_add_replaces_same_id(registry: CollectionRegistry) -> None:
    fresh = CollectionRegistry(registry.all())
    original = registry.get("SENTINEL2_L2A")
    # Another source object under the same id (the demo world's Sentinel-1 under S2's id).
    other = copy.copy(registry.get("SENTINEL1_GRD"))
    other.id = "SENTINEL2_L2A"  # type: ignore[misc]
    fresh.add(other)
    assert len(fresh) == len(EXPECTED)
    assert fresh.get("SENTINEL2_L2A") is other and fresh.get("SENTINEL2_L2A") is not original
    assert fresh.ids().index("SENTINEL2_L2A") == registry.ids().index("SENTINEL2_L2A")


@pytest.mark.parametrize("collection_id", sorted(EXPECTED))
def test_metadata_is_valid_stac(registry: CollectionRegistry, collection_id: str) -> None:
    doc = {**registry.get(collection_id).metadata(), "links": []}
    for validator in stac_validators():
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, errors
    assert doc["id"] == collection_id and doc["eostation:synthetic"] is True
    dims = doc["cube:dimensions"]
    assert dims["x"]["type"] == dims["y"]["type"] == "spatial"
    assert dims["t"]["type"] == "temporal" and dims["t"]["extent"][0]
    names = dims["bands"]["values"]
    assert [b["name"] for b in doc["summaries"]["raster:bands"]] == names
    if "eo:bands" in doc["summaries"]:
        assert [b["name"] for b in doc["summaries"]["eo:bands"]] == names
    json.dumps(doc)  # serialisable


def test_sentinel2_metadata_states_scale_without_offset(registry: CollectionRegistry) -> None:
    doc = registry.get("SENTINEL2_L2A").metadata()
    raster = {b["name"]: b for b in doc["summaries"]["raster:bands"]}
    assert raster["B04"]["scale"] == 0.0001 and "offset" not in raster["B04"]  # harmonised
    assert "B10" not in raster and {"SCL", "AOT", "WVP", "CLD", "SNW", "dataMask", "B8A"} <= set(
        raster
    )
    eo = {b["name"]: b for b in doc["summaries"]["eo:bands"]}
    assert eo["B08"]["common_name"] == "nir" and eo["B08"]["center_wavelength"] == pytest.approx(
        0.842
    )
    assert doc["extent"]["temporal"]["interval"][0] == ["2017-03-28T00:00:00Z", None]


@pytest.mark.parametrize("collection_id", sorted(EXPECTED))
def test_queryables_are_json_schema(registry: CollectionRegistry, collection_id: str) -> None:
    q = registry.get(collection_id).queryables()
    assert q["type"] == "object" and isinstance(q["properties"], dict)
    if collection_id == "SENTINEL2_L2A":
        assert "eo:cloud_cover" in q["properties"]
    if collection_id == "SENTINEL1_GRD":
        assert {"sat:orbit_state", "sar:instrument_mode"} <= set(q["properties"])

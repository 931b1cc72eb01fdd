"""How OData names map onto STAC: collections, product fields and attributes.

CDSE's OData catalogue names collections by mission (``SENTINEL-2``) and exposes
product metadata as typed ``Attributes``; the items index speaks STAC collection ids
and item properties. This module is the one table between the two, used in both
directions: ``$filter`` → item query, and item → product entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ATTRIBUTES",
    "COLLECTIONS",
    "DATE_FIELDS",
    "ODataAttribute",
    "collection_name",
    "stac_collections",
]

#: OData collection name → STAC collection ids of the demo world.
COLLECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "SENTINEL-1": ("SENTINEL1_GRD",),
    "SENTINEL-2": ("SENTINEL2_L2A",),
    "SENTINEL-3": (
        "SENTINEL3_OLCI_L1B",
        "SENTINEL3_SLSTR",
        "SENTINEL3_SYN_L2_SYN",
        "SENTINEL3_SLSTR_L2_LST",
    ),
    "SENTINEL-5P": ("SENTINEL_5P_L2",),
    "COP-DEM": ("COPERNICUS_30",),
}

#: Product date fields → the STAC property holding them.
DATE_FIELDS: Final[dict[str, str]] = {
    "ContentDate/Start": "start_datetime",
    "ContentDate/End": "end_datetime",
    "PublicationDate": "published",
    "ModificationDate": "updated",
    "OriginDate": "created",
}


def stac_collections(name: str) -> tuple[str, ...]:
    """STAC collection ids of an OData collection name (other ids map to themselves)."""
    return COLLECTIONS.get(name.upper(), (name,))


def collection_name(stac_id: str) -> str:
    """The OData collection name of a STAC collection id."""
    for name, ids in COLLECTIONS.items():
        if stac_id in ids:
            return name
    return stac_id


def _same(value: Any) -> Any:
    return value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower_list(value: Any) -> Any:
    return [value.lower()] if isinstance(value, str) else value


def _upper_joined(value: Any) -> Any:
    return "&".join(str(v).upper() for v in value) if isinstance(value, list) else value


def _split(value: Any) -> Any:
    return value.split("&") if isinstance(value, str) else value


def _joined(value: Any) -> Any:
    return "&".join(str(v) for v in value) if isinstance(value, list) else value


def _serial_from_platform(value: Any) -> Any:
    # 'sentinel-2b' -> 'B'; CDSE gives the unit letter only.
    return value.rsplit("-", 1)[-1][-1:].upper() if isinstance(value, str) else value


def _tile_to_stac(value: Any) -> Any:
    return f"MGRS-{value}" if isinstance(value, str) and not value.startswith("MGRS-") else value


def _tile_from_stac(value: Any) -> Any:
    return value.removeprefix("MGRS-") if isinstance(value, str) else value


@dataclass(frozen=True)
class ODataAttribute:
    """One product attribute: its STAC property, OData value type and conversions."""

    name: str
    prop: str
    value_type: str  # String, Integer, Double, DateTimeOffset, Boolean
    to_stac: Callable[[Any], Any] = _same
    from_stac: Callable[[Any], Any] = _same
    #: ``eq`` matches the end of the STAC value (the unit letter of ``platform``).
    suffix_match: bool = False
    #: The STAC property is an array: ``eq`` tests that it contains the value(s).
    array: bool = False


_ATTRIBUTES = (
    ODataAttribute("productType", "product:type", "String"),
    ODataAttribute("platformShortName", "constellation", "String", _lower, _upper),
    ODataAttribute(
        "platformSerialIdentifier",
        "platform",
        "String",
        _lower,
        _serial_from_platform,
        suffix_match=True,
    ),
    ODataAttribute(
        "instrumentShortName", "instruments", "String", _lower_list, _upper_joined, array=True
    ),
    ODataAttribute(
        "polarisationChannels", "sar:polarizations", "String", _split, _joined, array=True
    ),
    ODataAttribute("orbitNumber", "sat:absolute_orbit", "Integer"),
    ODataAttribute("relativeOrbitNumber", "sat:relative_orbit", "Integer"),
    ODataAttribute("orbitDirection", "sat:orbit_state", "String", _lower, _upper),
    ODataAttribute("cloudCover", "eo:cloud_cover", "Double"),
    ODataAttribute("processingLevel", "processing:level", "String"),
    ODataAttribute("tileId", "grid:code", "String", _tile_to_stac, _tile_from_stac),
    ODataAttribute("operationalMode", "sar:instrument_mode", "String"),
    ODataAttribute("timeliness", "product:timeliness_category", "String"),
    ODataAttribute("processorVersion", "processing:version", "String"),
)

#: Attribute name → its mapping (names are case-sensitive on CDSE as here).
ATTRIBUTES: Final[dict[str, ODataAttribute]] = {a.name: a for a in _ATTRIBUTES}

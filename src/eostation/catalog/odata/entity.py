"""STAC item dict → OData product entity, as CDSE's catalogue serves it.

A product's ``Id`` is a UUID derived from its collection and item id (stable across
restarts and replicas); ``Name`` is the item id with the product format's suffix
(``.SAFE``, ``.SEN3``, ``.nc``) as on CDSE.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shapely.geometry import shape

from .dem_names import dem_item_id, dem_product_name
from .names import ATTRIBUTES, collection_name

__all__ = [
    "PackageInfo",
    "item_id_of",
    "openeo_collection",
    "product_entity",
    "product_id",
    "product_name",
]

_NAMESPACE: Final = uuid.UUID("6c3c9f0e-4b7a-5d1e-9a57-0e05c0a7a0da")
#: Product-name suffix by OData collection (CDSE's product formats).
_SUFFIX: Final = {
    "SENTINEL-1": ".SAFE",
    "SENTINEL-2": ".SAFE",
    "SENTINEL-3": ".SEN3",
    "SENTINEL-5P": ".nc",
    "COP-DEM": ".DEM",
}
SUFFIXES: Final = tuple(sorted(set(_SUFFIX.values())))
_EVICTION: Final = "9999-12-31T23:59:59.999Z"


@dataclass(frozen=True)
class PackageInfo:
    """What the entity says about the product's zip: size and, once built, checksums."""

    content_length: int
    md5: str | None = None
    blake3: str | None = None
    checksum_date: str | None = None


def product_id(collection: str, item_id: str) -> str:
    """The product's stable UUID."""
    return str(uuid.uuid5(_NAMESPACE, f"{collection}/{item_id}"))


def product_name(item: Mapping[str, Any]) -> str:
    """The OData ``Name``: the item id plus the product format's suffix (COP-DEM tiles:
    CDSE's DGED product name, :mod:`.dem_names`)."""
    item_id = str(item["id"])
    mission = collection_name(openeo_collection(item))
    if mission == "COP-DEM" and (dem_name := dem_product_name(item_id)) is not None:
        return dem_name
    suffix = _SUFFIX.get(mission, "")
    return item_id if not suffix or item_id.endswith(suffix) else item_id + suffix


def openeo_collection(item: Mapping[str, Any]) -> str:
    """The openEO collection id behind an item (its catalogue id when it has none)."""
    props = item.get("properties", {})
    return str(props.get("eostation:collection") or item.get("collection", ""))


def item_id_of(name: str) -> str:
    """The item id behind a product name (the suffix removed; a COP-DEM product name:
    its tile's id)."""
    dem_tile = dem_item_id(name)
    if dem_tile is not None:
        return dem_tile
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _odata_time(value: Any) -> str | None:
    """CDSE's date-time form: UTC, milliseconds, ``Z``."""
    if not value:
        return None
    stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _attributes(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    props = item.get("properties", {})
    out: list[dict[str, Any]] = []
    for attr in ATTRIBUTES.values():
        if props.get(attr.prop) is None:
            continue
        out.append(
            {
                "@odata.type": f"#OData.CSC.{attr.value_type}Attribute",
                "Name": attr.name,
                "Value": attr.from_stac(props[attr.prop]),
                "ValueType": attr.value_type,
            }
        )
    for name, prop in (("beginningDateTime", "start_datetime"), ("endingDateTime", "end_datetime")):
        if props.get(prop):
            out.append(
                {
                    "@odata.type": "#OData.CSC.DateTimeOffsetAttribute",
                    "Name": name,
                    "Value": _odata_time(props[prop]),
                    "ValueType": "DateTimeOffset",
                }
            )
    return sorted(out, key=lambda a: str(a["Name"]))


def _s3_path(item: Mapping[str, Any], name: str, start: str | None) -> str:
    mission = collection_name(openeo_collection(item)).title().replace("-5p", "-5P")
    ptype = str(item.get("properties", {}).get("product:type", "PRODUCT")).strip("_")
    day = (start or "1970-01-01")[:10].replace("-", "/")
    return f"/eodata/{mission}/{ptype}/{day}/{name}"


def product_entity(
    item: Mapping[str, Any],
    package: PackageInfo,
    *,
    expand: Collection[str] = (),
    select: Collection[str] | None = None,
    download_url: str | None = None,
) -> dict[str, Any]:
    """The product of a STAC item (``expand``: Attributes/Assets/Locations)."""
    props = item.get("properties", {})
    start = _odata_time(props.get("start_datetime") or props.get("datetime"))
    end = _odata_time(props.get("end_datetime") or props.get("datetime"))
    published = _odata_time(props.get("published") or props.get("created")) or end
    name = product_name(item)
    geometry = item.get("geometry")
    footprint = None
    if geometry:
        wkt = shape(geometry).wkt
        footprint = f"geography'SRID=4326;{wkt}'"
    checksum: list[dict[str, str]] = []
    if package.md5 and package.blake3:
        checksum = [
            {"Value": package.md5, "Algorithm": "MD5", "ChecksumDate": package.checksum_date or ""},
            {
                "Value": package.blake3,
                "Algorithm": "BLAKE3",
                "ChecksumDate": package.checksum_date or "",
            },
        ]
    s3_path = _s3_path(item, name, start)
    entity: dict[str, Any] = {
        "@odata.mediaContentType": "application/octet-stream",
        "Id": product_id(str(item.get("collection", "")), str(item["id"])),
        "Name": name,
        "ContentType": "application/octet-stream",
        "ContentLength": package.content_length,
        "OriginDate": _odata_time(props.get("created")) or published,
        "PublicationDate": published,
        "ModificationDate": _odata_time(props.get("updated")) or published,
        "Online": True,
        "EvictionDate": _EVICTION,
        "S3Path": s3_path,
        "Checksum": checksum,
        "ContentDate": {"Start": start, "End": end},
        "Footprint": footprint,
        "GeoFootprint": geometry,
    }
    if select is not None:
        entity = {k: v for k, v in entity.items() if k in select or k == "@odata.mediaContentType"}
    if "Attributes" in expand:
        entity["Attributes"] = _attributes(item)
    if "Assets" in expand:
        entity["Assets"] = []  # quicklooks are not generated
    if "Locations" in expand:
        entity["Locations"] = [
            {
                "FORMAT": "zip",
                "S3Path": s3_path,
                "ContentLength": package.content_length,
                "Checksum": checksum,
                "DownloadLink": download_url,
            }
        ]
    return entity

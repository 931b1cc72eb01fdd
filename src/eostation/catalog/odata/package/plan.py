"""What to build for a product: its kind, name, window on the demo grid and date."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pyproj import Transformer
from shapely.geometry import shape

from ..entity import product_name

__all__ = ["KINDS", "ProductPlan", "plan_of"]

#: openEO collection id → product kind (the writer that lays out its folder).
KINDS: Final = {
    "SENTINEL_5P_L2": "s5p",
    "SENTINEL3_OLCI_L1B": "olci",
    "SENTINEL3_SYN_L2_SYN": "syn",
    "SENTINEL3_SLSTR": "slstr",
    "SENTINEL3_SLSTR_L2_LST": "lst",
    "COPERNICUS_30": "dem",
    "SENTINEL1_GRD": "s1",
    "SENTINEL2_L2A": "s2",
}
#: Side of a Sentinel-2 tile in 10 m pixels (109.8 km).
S2_TILE_PIXELS: Final = 10_980


@dataclass(frozen=True)
class ProductPlan:
    """One product package to build."""

    kind: str
    name: str
    collection: str  # the openEO collection id behind the item
    product_type: str | None
    #: The window rendered (EPSG:4326): the footprint's bbox, shrunk around its centre to
    #: at most ``max_pixels`` per side when the setting limits product size.
    bbox: tuple[float, float, float, float]
    day: str  # YYYY-MM-DD: the demo world's acquisition label
    start: str  # sensing start and stop, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
    end: str
    #: Kind-specific facts (Sentinel-2: the window on the tile lattice).
    extra: Mapping[str, Any] = field(default_factory=dict)


def _stamp(value: Any) -> datetime:
    stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plan_of(
    item: Mapping[str, Any], step: tuple[float, float] | None, max_pixels: int | None
) -> ProductPlan | None:
    """The plan for a demo item, or None when its collection has no product layout here.

    ``step`` is the (x, y) pixel size in degrees of the collection's grid, used with
    ``max_pixels`` to limit the window.
    """
    props = item.get("properties", {})
    collection = str(props.get("eostation:collection") or item.get("collection", ""))
    kind = KINDS.get(collection)
    if kind is None or not item.get("geometry"):
        return None
    w, s, e, n = shape(item["geometry"]).bounds
    if max_pixels and step:
        cx, cy = (w + e) / 2, (s + n) / 2
        hx, hy = (
            min((e - w) / 2, max_pixels * step[0] / 2),
            min((n - s) / 2, max_pixels * step[1] / 2),
        )
        # Nudged inwards by a hundredth of a pixel so the window never grows a row.
        w, e = cx - hx + step[0] / 100, cx + hx - step[0] / 100
        s, n = cy - hy + step[1] / 100, cy + hy - step[1] / 100
    extra: dict[str, Any] = {}
    if kind == "s2":
        extra = _s2_window(props, (w + e) / 2, (s + n) / 2, max_pixels)
        if not extra:
            return None
    start = _stamp(props.get("start_datetime") or props["datetime"])
    end = _stamp(props.get("end_datetime") or props["datetime"])
    nominal = _stamp(props.get("datetime") or props["start_datetime"])
    return ProductPlan(
        kind=kind,
        name=product_name(item),
        collection=collection,
        product_type=props.get("product:type"),
        bbox=(w, s, e, n),
        day=nominal.date().isoformat(),
        start=_iso(start),
        end=_iso(end),
        extra=extra,
    )


def _s2_window(
    props: Mapping[str, Any], lon: float, lat: float, max_pixels: int | None
) -> dict[str, Any]:
    """A window of the MGRS tile's 10 m lattice around a point: a multiple of 6 pixels
    (so the 20 m and 60 m lattices align), at most ``max_pixels`` per side."""
    epsg, tile_bbox = props.get("proj:epsg"), props.get("proj:bbox")
    if not epsg or not tile_bbox:
        return {}
    x, y = Transformer.from_crs(4326, int(epsg), always_xy=True).transform(lon, lat)
    side = min(max_pixels or S2_TILE_PIXELS, S2_TILE_PIXELS) // 6 * 6 or 6
    ulx, uly = float(tile_bbox[0]), float(tile_bbox[3])

    def start(offset_px: float) -> int:
        return int(min(max(round((offset_px - side / 2) / 6) * 6, 0), S2_TILE_PIXELS - side))

    i0, j0 = start((x - ulx) / 10), start((uly - y) / 10)
    return {
        "epsg": int(epsg),
        "ulx": ulx + 10 * i0,
        "uly": uly - 10 * j0,
        "side": side,
        "absolute_orbit": props.get("sat:absolute_orbit", 0),
    }

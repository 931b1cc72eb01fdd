"""OData test support: items in a real SQLite items index, served as a catalogue."""

from __future__ import annotations

import copy
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eostation.catalog.query import ItemPage, ItemQuery
from eostation.catalog.sqlite import SqliteItemIndex

ARCTIC_WKT = "POLYGON((-81.7 71.7, -81.7 73.8, -75.1 73.8, -75.1 71.7, -81.7 71.7))"
TUTORIAL_FILTER = (
    "Collection/Name eq 'SENTINEL-3' and Attributes/OData.CSC.StringAttribute/any("
    "att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'OL_1_EFR___') "
    "and ContentDate/Start gt 2018-06-01T00:00:00.000Z and ContentDate/Start lt "
    f"2018-06-02T23:59:59.999Z and OData.CSC.Intersects(area=geography'SRID=4326;{ARCTIC_WKT}')"
)


class IndexCatalog:
    """The :class:`~eostation.catalog.Catalog` calls over one items index."""

    def __init__(self, index: SqliteItemIndex, openeo_ids: dict[str, str]) -> None:
        self.index = index
        self._openeo = openeo_ids

    def collections(self, user_id: str | None) -> list[dict[str, Any]]:
        return [
            {"id": c, "eostation:collection": self._openeo.get(c, c)}
            for c in sorted(self.index.counts(user_id))
        ]

    def search(self, query: ItemQuery) -> ItemPage:
        return self.index.search(query)

    def item(self, collection_id: str, item_id: str, user_id: str | None) -> dict[str, Any]:
        return self.index.get(collection_id, item_id, user_id)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def olci_items(count: int) -> list[dict[str, Any]]:
    """``count`` S3A OLCI EFR frames over the Canadian Arctic on 2018-06-01 and 06-02."""
    out = []
    for k in range(count):
        start = datetime(2018, 6, 1, 15, 14, 19, tzinfo=UTC) + timedelta(minutes=90 * k)
        lon = -84.0 + 0.5 * (k % 8)
        name = (
            f"S3A_OL_1_EFR____{start:%Y%m%dT%H%M%S}_{start + timedelta(seconds=180):%Y%m%dT%H%M%S}"
            f"_{start + timedelta(hours=2):%Y%m%dT%H%M%S}_0180_032_{k:03d}_1620_PS1_O_NT_002"
        )
        out.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": name,
                "collection": "sentinel-3-olci-1-efr",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[lon, 72.0], [lon + 2, 72.0], [lon + 2, 73.0], [lon, 73.0], [lon, 72.0]]
                    ],
                },
                "bbox": [lon, 72.0, lon + 2, 73.0],
                "properties": {
                    "datetime": _stamp(start + timedelta(seconds=90)),
                    "start_datetime": _stamp(start),
                    "end_datetime": _stamp(start + timedelta(seconds=180)),
                    "published": _stamp(start + timedelta(hours=3)),
                    "platform": "sentinel-3a",
                    "constellation": "sentinel-3",
                    "instruments": ["olci"],
                    "product:type": "OL_1_EFR___",
                    "processing:level": "L1",
                    "sat:relative_orbit": k + 1,
                    "sat:absolute_orbit": 12000 + k,
                    "eostation:collection": "SENTINEL3_OLCI_L1B",
                },
                "links": [],
                "assets": {},
            }
        )
    return out


def s5p_item() -> dict[str, Any]:
    """One daily S5P item (all gases) over a small box."""
    item = copy.deepcopy(olci_items(1)[0])
    item.update(
        id="S5P_OFFL_L2__ALL____20180601T003000_20180601T233000_03272_02_020600_20180603T003000",
        collection="sentinel-5p-l2",
        geometry={
            "type": "Polygon",
            "coordinates": [[[30, 40], [32, 40], [32, 42], [30, 42], [30, 40]]],
        },
        bbox=[30, 40, 32, 42],
    )
    item["properties"].update(
        {
            "datetime": "2018-06-01T00:30:00Z",
            "start_datetime": "2018-06-01T00:30:00Z",
            "end_datetime": "2018-06-01T23:30:00Z",
            "platform": "sentinel-5p",
            "constellation": "sentinel-5p",
            "instruments": ["tropomi"],
            "product:type": "L2__ALL___",
            "eostation:collection": "SENTINEL_5P_L2",
        }
    )
    return item


OPENEO_IDS = {
    "sentinel-3-olci-1-efr": "SENTINEL3_OLCI_L1B",
    "sentinel-5p-l2": "SENTINEL_5P_L2",
}


def extract_zip(path: Path, into: Path) -> Path:
    """Unzip a product into ``into`` after checking that every entry is stored (the layout
    that lets ``ContentLength`` be computed before the zip is built)."""
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        zf.extractall(into)
    return into

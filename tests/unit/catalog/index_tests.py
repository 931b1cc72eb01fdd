"""The conformance tests every items index (SQLite now, pgstac later) must pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from shapely.geometry import Polygon, box

from eostation.catalog import ItemQuery
from eostation.catalog.index import ItemIndex
from eostation.errors import ItemNotFound, RequestInvalid


def make_item(
    item_id: str,
    collection: str = "c1",
    day: int = 1,
    footprint: Polygon | None = None,
    **props: Any,
) -> dict[str, Any]:
    """A STAC item on 2022-05-<day> with a footprint (default: a 1° box at the origin)."""
    footprint = footprint if footprint is not None else box(0, 0, 1, 1)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": collection,
        "geometry": json.loads(json.dumps(footprint.__geo_interface__)),
        "bbox": list(footprint.bounds),
        "properties": {"datetime": f"2022-05-{day:02d}T10:00:00Z", **props},
        "links": [],
        "assets": {},
    }


def _utc(day: int, hour: int = 0) -> datetime:
    return datetime(2022, 5, day, hour, tzinfo=UTC)


class ItemIndexTests:
    """Every ItemIndex implementation must pass these."""

    @pytest.fixture
    def index(self) -> ItemIndex:
        raise NotImplementedError

    @pytest.fixture
    def filled(self, index: ItemIndex) -> ItemIndex:
        triangle = Polygon([(10, 10), (12, 10), (10, 12)])
        index.upsert(
            [
                make_item("a", day=1, **{"eo:cloud_cover": 50.0, "platform": "sentinel-2a"}),
                make_item("b", day=2, **{"eo:cloud_cover": 5.0, "platform": "sentinel-2b"}),
                make_item("c", day=3, **{"eo:cloud_cover": 20.0, "platform": "sentinel-2a"}),
                make_item("t", collection="c2", day=2, footprint=triangle),
            ]
        )
        return index

    def test_missing_item_raises(self, index: ItemIndex) -> None:
        with pytest.raises(ItemNotFound):
            index.get("c1", "nope", None)

    def test_roundtrip_keeps_the_document(self, index: ItemIndex) -> None:
        item = make_item("x", **{"eo:cloud_cover": 12.5})
        index.upsert([item])
        assert index.get("c1", "x", None) == item

    def test_upsert_replaces_by_collection_and_id(self, index: ItemIndex) -> None:
        index.upsert([make_item("x", day=1)])
        index.upsert([make_item("x", day=9)])
        page = index.search(ItemQuery())
        assert page.matched == 1
        assert page.items[0]["properties"]["datetime"] == "2022-05-09T10:00:00Z"

    def test_last_version_in_one_batch_wins(self, index: ItemIndex) -> None:
        assert index.upsert([make_item("x", day=1), make_item("x", day=4)]) == 1
        [item] = index.search(ItemQuery()).items
        assert item["properties"]["datetime"] == "2022-05-04T10:00:00Z"

    def test_default_order_is_newest_first(self, filled: ItemIndex) -> None:
        page = filled.search(ItemQuery(collections=("c1",)))
        assert [i["id"] for i in page.items] == ["c", "b", "a"]
        assert page.matched == 3

    def test_bbox_uses_exact_footprints(self, filled: ItemIndex) -> None:
        # The triangle's bbox contains (11.8, 11.8) but the triangle does not.
        assert filled.search(ItemQuery(intersects=box(11.7, 11.7, 11.9, 11.9))).matched == 0
        page = filled.search(ItemQuery(intersects=box(10.1, 10.1, 10.2, 10.2)))
        assert [i["id"] for i in page.items] == ["t"]

    def test_datetime_interval_is_inclusive_and_open_ended(self, filled: ItemIndex) -> None:
        q = ItemQuery(collections=("c1",), datetime=(_utc(2, 10), None))
        assert [i["id"] for i in filled.search(q).items] == ["c", "b"]
        q = ItemQuery(collections=("c1",), datetime=(None, _utc(2, 10)))
        assert [i["id"] for i in filled.search(q).items] == ["b", "a"]
        q = ItemQuery(datetime=(_utc(2, 11), _utc(3, 9)))
        assert filled.search(q).matched == 0

    def test_bbox_and_datetime_together(self, filled: ItemIndex) -> None:
        q = ItemQuery(intersects=box(0.5, 0.5, 2, 2), datetime=(_utc(2), _utc(4)))
        assert [i["id"] for i in filled.search(q).items] == ["c", "b"]

    def test_ids_and_collections(self, filled: ItemIndex) -> None:
        assert filled.search(ItemQuery(ids=("a", "t"))).matched == 2
        assert filled.search(ItemQuery(collections=("c2",), ids=("a",))).matched == 0

    def test_filter_cql2_json(self, filled: ItemIndex) -> None:
        f = {"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]}
        page = filled.search(ItemQuery(filter=f))
        assert [i["id"] for i in page.items] == ["c", "b"]

    def test_bad_filter_is_request_invalid(self, filled: ItemIndex) -> None:
        with pytest.raises(RequestInvalid, match="filter"):
            filled.search(ItemQuery(filter={"op": "nonsense", "args": 3}))

    def test_sort_by_property_both_ways_missing_last(self, filled: ItemIndex) -> None:
        asc = filled.search(ItemQuery(sortby=(("eo:cloud_cover", "asc"),)))
        assert [i["id"] for i in asc.items] == ["b", "c", "a", "t"]
        desc = filled.search(ItemQuery(sortby=(("properties.eo:cloud_cover", "desc"),)))
        assert [i["id"] for i in desc.items] == ["a", "c", "b", "t"]

    def test_paging_offset_limit_and_count(self, filled: ItemIndex) -> None:
        seen = []
        for offset in range(0, 4, 3):
            page = filled.search(ItemQuery(limit=3, offset=offset, sortby=(("id", "asc"),)))
            assert page.matched == 4
            seen += [i["id"] for i in page.items]
        assert seen == ["a", "b", "c", "t"]
        assert filled.search(ItemQuery(count=False)).matched is None

    def test_private_items_only_for_their_owner(self, index: ItemIndex) -> None:
        index.upsert([make_item("mine", collection="results-alice")], owner="alice")
        assert index.search(ItemQuery(user_id="alice")).matched == 1
        assert index.search(ItemQuery(user_id="bob")).matched == 0
        assert index.search(ItemQuery()).matched == 0
        with pytest.raises(ItemNotFound):
            index.get("results-alice", "mine", "bob")
        assert index.get("results-alice", "mine", "alice")["id"] == "mine"
        assert index.counts("alice") == {"results-alice": 1}
        assert index.counts("bob") == {}

    def test_replace_swaps_a_collection_and_keeps_state(self, filled: ItemIndex) -> None:
        assert filled.state("c1") is None
        n = filled.replace("c1", [make_item("z", day=7)], state="sig-1")
        assert n == 1
        assert filled.state("c1") == "sig-1"
        assert [i["id"] for i in filled.search(ItemQuery(collections=("c1",))).items] == ["z"]
        assert filled.counts(None) == {"c1": 1, "c2": 1}

    def test_delete(self, filled: ItemIndex) -> None:
        assert filled.delete("c1", ["a", "nope"]) == 1
        assert filled.delete("c2") == 1
        assert {i["id"] for i in filled.search(ItemQuery()).items} == {"b", "c"}

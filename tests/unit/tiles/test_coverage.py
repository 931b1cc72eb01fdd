"""Archive coverage for the dashboard: which shard cells hold each band and date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from eostation.archive import Archive
from eostation.data.archive_source import archive_collection
from eostation.data.registry import CollectionRegistry
from eostation.tiles.coverage import archive_coverage
from tests.unit.archive.conftest import make_cube


def test_coverage_lists_the_cells_of_each_date(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.zarr")
    places = {"2023-06-01": (11.0, 46.0, 11.04, 46.03), "2023-06-06": (13.0, 47.7, 13.04, 47.73)}
    for day, bbox in places.items():
        archive.ingest(make_cube(bbox, 0.0002, [day], lambda x, y, k: 5.0 + 0 * x * y))
    source = archive_collection({"id": "ARCH", "path": "a.zarr"}, tmp_path)
    [doc] = archive_coverage(CollectionRegistry([source]))
    assert doc["id"] == "ARCH" and doc["bands"] == ["a", "b"]
    assert doc["dates"] == ["2023-06-01T00:00:00Z", "2023-06-06T00:00:00Z"]
    cells = {
        f["properties"]["shard"]: shapely.geometry.shape(f["geometry"])
        for f in doc["shards"]["features"]
    }
    for day, bbox in places.items():
        held = doc["coverage"]["a"][f"{day}T00:00:00Z"]
        assert held == doc["coverage"]["b"][f"{day}T00:00:00Z"]
        # The cells of a date together contain its box, and none of them touches the other box.
        union = shapely.union_all([cells[i] for i in held])
        assert union.contains(shapely.box(*bbox))
        other = next(b for d, b in places.items() if d != day)
        assert not union.intersects(shapely.box(*other))
    assert np.all([c.is_valid for c in cells.values()])


def test_no_archive_collections_means_an_empty_list() -> None:
    assert archive_coverage(CollectionRegistry([])) == []

"""Demo-world items: footprints hold exactly the pixels load_collection returns that day."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from eostation.catalog.demo import demo_collection
from eostation.catalog.mgrs import MgrsTile, tile_from_code, tiles_intersecting
from eostation.data.demo.sentinel1 import Sentinel1GRD
from eostation.data.demo.sentinel2 import Sentinel2L2A
from eostation.data.demo.source import day_number

MAY = (
    day_number(__import__("datetime").date(2022, 5, 1)),
    day_number(__import__("datetime").date(2022, 6, 1)),
)


def _tiny(x: float, y: float) -> tuple[float, float, float, float]:
    return (x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4)


@pytest.mark.parametrize(
    ("code", "origin"), [("32TPS", (600000, 5200020)), ("31UES", (499980, 5700000))]
)
def test_mgrs_tiles_have_real_ids_and_corners(code: str, origin: tuple[int, int]) -> None:
    tile = tile_from_code(code)
    assert tile is not None and tile.code == code and tile.origin == origin
    assert tile.epsg == 32600 + int(code[:2])
    assert tile_from_code("99ZZZ") is None


def test_a_point_is_in_the_tile_whose_square_holds_it() -> None:
    # Brussels lies in 31UES only (31UFS starts 9.8 km further east).
    codes = [t.code for t in tiles_intersecting(box(4.35, 50.85, 4.351, 50.851))]
    assert codes == ["31UES"]
    assert isinstance(tile_from_code("31UES"), MgrsTile)


def test_s2_footprints_hold_exactly_the_days_load_collection_sees() -> None:
    source = Sentinel2L2A()
    demo = demo_collection(source)
    assert demo is not None
    stubs = demo.stubs(box(3.0, 50.0, 6.0, 51.0), *MAY)
    partial = [
        s for s in stubs if s.cell.footprint.area < 0.95 * s.cell.extra["tile"].footprint.area
    ]
    assert partial, "expected a tile cut by a swath edge"
    checked = 0
    for stub in partial[:4]:
        inside = stub.cell.footprint.representative_point()
        days = [a.day for a in source.acquisitions(_tiny(inside.x, inside.y), *MAY)]
        assert stub.acquisition.day in days
        outside = stub.cell.extra["tile"].footprint.difference(stub.cell.mask.buffer(0.01))
        if outside.is_empty:
            continue
        p = outside.representative_point()
        days = [a.day for a in source.acquisitions(_tiny(p.x, p.y), *MAY)]
        assert stub.acquisition.day not in days
        checked += 1
    assert checked >= 1


def test_s2_ids_round_trip_and_are_cdse_shaped() -> None:
    demo = demo_collection(Sentinel2L2A())
    assert demo is not None
    stub = demo.stubs(box(4.30, 50.80, 4.31, 50.81), *MAY)[0]
    assert stub.id.startswith(("S2A_MSIL2A_2022", "S2B_MSIL2A_2022")) and "_T31UES_" in stub.id
    again = demo.lookup(stub.id)
    assert again is not None and again.id == stub.id
    assert again.cell.footprint.equals(stub.cell.footprint)
    orbit = f"_R{stub.acquisition.properties['sat:relative_orbit']:03d}_"
    assert demo.lookup(stub.id.replace(orbit, "_R142_")) is None  # no such pass over 31UES
    assert demo.lookup(stub.id.replace("T31UES", "T99ZZZ")) is None


def test_s1_slices_are_passes_cut_to_two_degrees_and_round_trip() -> None:
    demo = demo_collection(Sentinel1GRD())
    assert demo is not None
    stubs = demo.stubs(box(4.30, 50.80, 4.31, 50.81), *MAY)
    assert {s.acquisition.properties["sat:orbit_state"] for s in stubs} == {
        "ascending",
        "descending",
    }
    for stub in stubs[:3]:
        _, s, _, n = stub.cell.footprint.bounds
        assert s >= 50.0 - 1e-9 and n <= 52.0 + 1e-9
        found = demo.lookup(stub.id)
        assert found is not None and found.cell.footprint.equals(stub.cell.footprint)


def test_batched_cloud_cover_equals_the_source_estimate() -> None:
    from eostation.catalog.demo.sentinel2 import cloud_covers
    from eostation.data.demo import optical

    boxes = [(3.0, 50.0, 4.4, 51.0), (4.3, 50.4, 5.8, 51.4), (-3.0, 40.0, -1.6, 41.0)]
    day = MAY[0] + 4
    expected = [optical.cloud_cover(b, day) for b in boxes]
    assert cloud_covers(boxes, day) == expected
    assert len(set(expected)) > 1

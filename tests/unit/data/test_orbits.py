"""The demo world's orbits against real passes and the missions' published revisits."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from shapely.geometry import Point, box, shape

from eostation.data.demo.orbits import MISSIONS, passes
from tests.conftest import shared_path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def point(lon: float, lat: float) -> tuple[float, float, float, float]:
    return (lon, lat, lon, lat)


def local_solar_hours(when: datetime, lon: float) -> float:
    return (when.hour + when.minute / 60 + when.second / 3600 + lon / 15.0) % 24.0


def test_s2a_anchor_is_the_real_item_over_32tps() -> None:
    item = json.loads(shared_path("data", "stac_s2_metadata", "s2_l2a_test_item.json").read_text())
    props = item["properties"]
    sensed = datetime.fromisoformat(props["datetime"].replace("Z", "+00:00"))
    tile = shape(item["geometry"])
    [p] = passes(
        "sentinel-2", tile.bounds, sensed.replace(hour=0, minute=0), sensed + timedelta(hours=12)
    )
    assert p.platform == props["platform"] == "sentinel-2a"
    assert p.relative_orbit == 22 and "_R022_" in props["s2:product_uri"]
    assert f"_A{p.absolute_orbit:06d}_" in props["s2:granule_id"]
    assert abs((p.start - sensed).total_seconds()) < 60
    # The real tile has no nodata: the modelled swath covers almost all of it.
    assert p.footprint.area > 0.95 * tile.area


def test_s2_model_reproduces_real_items_three_years_before_the_anchor() -> None:
    """Planetary Computer items of tile 35MNM (2020), independent of the 2023 anchor."""
    fc = json.loads(
        shared_path("data", "stac_s2_metadata", "site2-2020_jun_jul-35MNM.geojson").read_text()
    )
    for feature in fc["features"]:
        props = feature["properties"]
        day = datetime.fromisoformat(props["datetime"][:10]).replace(tzinfo=UTC)
        found = passes("sentinel-2", tuple(feature["bbox"]), day, day + timedelta(days=1))
        assert [(p.platform, p.relative_orbit) for p in found] == [
            (props["platform"].lower(), props["sat:relative_orbit"])
        ]
        assert f"_{found[0].absolute_orbit:06d}_" in props["s2:datatake_id"]
    # Between them only a neighbouring orbit (R121) clips a corner of the tile.
    bbox = tuple(fc["features"][0]["bbox"])
    listed = {date.fromisoformat(f["properties"]["datetime"][:10]) for f in fc["features"]}
    for p in passes("sentinel-2", bbox, utc(2020, 6, 1), utc(2020, 8, 1)):
        if p.start.date() not in listed:
            assert p.relative_orbit == 121 and p.footprint.area < 0.2 * box(*bbox).area


def test_s2_revisit_is_two_to_three_days_at_46n_and_five_at_the_equator() -> None:
    june = (utc(2023, 6, 1), utc(2023, 7, 1))
    at_32tps = [p.start.date() for p in passes("sentinel-2", point(11.0, 46.4), *june)]
    assert len(at_32tps) == 12
    assert {(b - a).days for a, b in itertools.pairwise(at_32tps)} == {2, 3}
    assert {p.relative_orbit for p in passes("sentinel-2", point(11.0, 46.4), *june)} == {22, 65}
    # Over a band of longitudes: at 46° N swaths overlap on about half the ground.
    counts_46 = [
        len(passes("sentinel-2", point(lon / 10, 46.0), *june)) for lon in range(0, 100, 7)
    ]
    counts_eq = [len(passes("sentinel-2", point(lon / 10, 0.0), *june)) for lon in range(0, 100, 7)]
    assert set(counts_46) <= {6, 12} and 0.3 < counts_46.count(12) / len(counts_46) < 0.7
    assert set(counts_eq) <= {6, 12} and counts_eq.count(6) / len(counts_eq) > 0.7


def test_s2_before_2b_and_after_2c() -> None:
    early = passes("sentinel-2", point(11.0, 46.4), utc(2017, 4, 1), utc(2017, 5, 1))
    assert {p.platform for p in early} == {"sentinel-2a"}
    late = passes("sentinel-2", point(11.0, 46.4), utc(2025, 6, 1), utc(2025, 7, 1))
    assert {p.platform for p in late} == {"sentinel-2b", "sentinel-2c"}
    # 2C took over 2A's place: same ground tracks, same days as 2A ten-day cycles earlier.
    a = {
        p.relative_orbit
        for p in passes("sentinel-2", point(11.0, 46.4), utc(2024, 6, 1), utc(2024, 7, 1))
        if p.platform == "sentinel-2a"
    }
    c = {p.relative_orbit for p in late if p.platform == "sentinel-2c"}
    assert a == c == {22, 65}


def test_s2_crosses_the_equator_at_half_past_ten_local_solar_time() -> None:
    for p in passes("sentinel-2", point(11.0, 0.0), utc(2023, 1, 1), utc(2023, 3, 1)):
        assert p.orbit_state == "descending"
        assert abs(local_solar_hours(p.start, 11.0) - 10.5) < 0.15
    # Further north the descending track is east of its node: later local time.
    for p in passes("sentinel-2", point(11.0, 46.4), utc(2023, 1, 1), utc(2023, 3, 1)):
        assert 10.75 < local_solar_hours(p.start, 11.0) < 11.35


def test_s1_in_2022_is_1a_alone_both_orbit_states() -> None:
    found = passes("sentinel-1", point(11.0, 46.0), utc(2022, 1, 1), utc(2023, 1, 1))
    assert {p.platform for p in found} == {"sentinel-1a"}
    assert {p.orbit_state for p in found} == {"ascending", "descending"}
    # One satellite on a 12-day cycle: each relative orbit every 12 days exactly.
    for rel in {p.relative_orbit for p in found}:
        times = [p.start for p in found if p.relative_orbit == rel]
        assert {round((b - a) / timedelta(days=1), 3) for a, b in itertools.pairwise(times)} == {
            12.0
        }
    before = passes("sentinel-1", point(11.0, 46.0), utc(2021, 6, 1), utc(2021, 7, 1))
    assert {p.platform for p in before} == {"sentinel-1a", "sentinel-1b"}
    assert not [
        p
        for p in passes("sentinel-1", point(11.0, 46.0), utc(2021, 12, 24), utc(2025, 1, 1))
        if p.platform == "sentinel-1b"
    ]
    # Dawn-dusk orbit: descending near 06:00, ascending near 18:00 local solar time.
    for p in found:
        expected = 6.0 if p.orbit_state == "descending" else 18.0
        assert abs(local_solar_hours(p.start, 11.0) - expected) < 1.0


def test_s1_anchor_covers_the_real_camargue_slice() -> None:
    shared_path("data", "s1_grd_vv_pyrosar")
    [p] = passes("sentinel-1", point(4.52, 43.59), utc(2015, 3, 9), utc(2015, 3, 10))
    assert (p.platform, p.orbit_state) == ("sentinel-1a", "ascending")
    assert abs((p.start - utc(2015, 3, 9, 17, 30, 17)).total_seconds()) < 60
    assert p.relative_orbit == (p.absolute_orbit - 73) % 175 + 1  # ESA's rule for S1A


def test_s3_is_daily_at_mid_latitudes_and_anchored_on_the_olci_frame() -> None:
    found = passes("sentinel-3", point(11.0, 46.0), utc(2023, 6, 1), utc(2023, 7, 1))
    assert len({p.start.date() for p in found}) == 30
    assert {p.platform for p in found} == {"sentinel-3a", "sentinel-3b"}
    [p] = passes("sentinel-3", point(1.4, 52.5), utc(2017, 4, 14), utc(2017, 4, 15))
    assert (
        p.platform == "sentinel-3a"
        and abs((p.start - utc(2017, 4, 14, 10, 27)).total_seconds()) < 120
    )


def test_s5p_orbit_24725_over_queensland() -> None:
    [p] = passes("sentinel-5p", point(149.0, -22.75), utc(2022, 7, 22), utc(2022, 7, 23))
    assert p.absolute_orbit == 24725 and p.relative_orbit == 0
    # Inside the real granule's sensing interval (file name: 02:53:09 to 04:34:39).
    assert utc(2022, 7, 22, 2, 53, 9) <= p.start <= utc(2022, 7, 22, 4, 34, 39)
    assert (
        len(
            {
                q.start.date()
                for q in passes("sentinel-5p", point(11.0, 46.0), utc(2023, 6, 1), utc(2023, 7, 1))
            }
        )
        == 30
    )


@pytest.mark.parametrize("mission", MISSIONS)
def test_footprints_lie_in_the_bbox_and_cover_a_requested_point(mission: str) -> None:
    for lon, lat in [(11.0, 46.0), (-60.0, -5.0), (140.0, 70.0)]:
        for p in passes(mission, point(lon, lat), utc(2023, 3, 1), utc(2023, 3, 20)):
            assert p.footprint.equals(Point(lon, lat)) and p.start <= p.end
    bbox = (11.0, 46.0, 11.5, 46.3)
    found = passes(mission, bbox, utc(2023, 3, 1), utc(2023, 3, 20))
    assert found
    for p in found:
        assert box(*bbox).buffer(1e-9).contains(p.footprint) and p.footprint.area > 0


def test_a_bbox_across_the_antimeridian_gets_both_halves() -> None:
    found = passes("sentinel-2", (179.5, -17.0, -179.5, -16.0), utc(2023, 6, 1), utc(2023, 6, 11))
    assert found
    for p in found:
        w, _, e, _ = p.footprint.bounds
        assert w == -180.0 and e == 180.0  # a part on either side
        assert p.footprint.area == pytest.approx(1.0, rel=0.05)


def test_same_answer_twice_and_windows_are_half_open() -> None:
    a = passes("sentinel-2", point(11.0, 46.4), utc(2023, 6, 2), utc(2023, 6, 12))
    b = passes("sentinel-2", point(11.0, 46.4), utc(2023, 6, 2), utc(2023, 6, 12))
    assert a == b
    first = a[0].start
    assert passes("sentinel-2", point(11.0, 46.4), first, first + timedelta(seconds=1)) == a[:1]
    assert passes("sentinel-2", point(11.0, 46.4), first - timedelta(hours=1), first) == []

"""COGs computed on demand: a valid tiled GeoTIFF with overviews, rendered a range at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from eostation.catalog.assets import AssetRenderer
from eostation.catalog.cog import CogLayout, TileRef
from eostation.catalog.demo import demo_collection
from eostation.data.base import LoadRequest
from eostation.data.demo.sentinel2 import Sentinel2L2A

TRANSFORM = (10.0, 0.0, 499980.0, 0.0, -10.0, 5700000.0)


def _pattern(layout: CogLayout, ref: TileRef) -> bytes:
    t, f = layout.tile, 2**ref.level
    yy, xx = np.mgrid[0:t, 0:t]
    v = ((ref.ty * t + yy) * f * 7 + (ref.tx * t + xx) * f * 3) % 60000 + 1
    return v.astype("<u2").tobytes()


def test_layout_is_a_tiled_geotiff_with_overviews(tmp_path: Path) -> None:
    layout = CogLayout(1300, 1100, "uint16", 32631, TRANSFORM, "0")
    path = tmp_path / "x.tif"
    path.write_bytes(layout.read(0, layout.size, lambda ref: _pattern(layout, ref)))
    assert path.stat().st_size == layout.size
    with rasterio.open(path) as ds:
        assert (ds.width, ds.height, ds.dtypes[0], ds.nodata) == (1300, 1100, "uint16", 0)
        assert ds.crs.to_epsg() == 32631 and tuple(ds.transform)[:6] == TRANSFORM
        assert ds.block_shapes == [(512, 512)] and ds.overviews(1) == [2, 4]
        yy, xx = np.mgrid[0:1100, 0:1300]
        assert (ds.read(1) == (yy * 7 + xx * 3) % 60000 + 1).all()


def test_ranges_match_the_whole_file() -> None:
    layout = CogLayout(700, 600, "float32", 4326, (0.001, 0, 4.0, 0, -0.001, 51.0), "nan")
    whole = layout.read(0, layout.size, lambda ref: _pattern(layout, ref) * 2)
    for start, stop in [(0, 10), (100, 5000), (len(layout.header) - 3, len(layout.header) + 9),
                        (layout.size - 7, layout.size)]:  # fmt: skip
        assert layout.read(start, stop, lambda ref: _pattern(layout, ref) * 2) == whole[start:stop]


def test_first_ranged_read_renders_only_the_tiles_it_touches(tmp_path: Path) -> None:
    demo = demo_collection(Sentinel2L2A())
    assert demo is not None
    [stub] = [s for s in demo.stubs(box(4.30, 50.80, 4.31, 50.81), 19142, 19143)]
    renderer = AssetRenderer(tmp_path / "cache", cache_bytes=10**9)
    layout, _, _ = renderer.layout(demo, stub, "B04_10m")
    assert layout.size > 240_000_000  # a full 10980² uint16 tile band, never rendered whole
    renderer.read(demo, stub, "B04_10m", 0, 16384)
    assert not list((tmp_path / "cache").rglob("*.bin"))  # the header needs no pixels
    offset = layout.tile_offset(TileRef(0, 10, 3))
    renderer.read(demo, stub, "B04_10m", offset + 100, offset + 5000)
    assert len(list((tmp_path / "cache").rglob("*.bin"))) == 1


def test_asset_pixels_equal_load_collection_exactly(tmp_path: Path) -> None:
    source = Sentinel2L2A()
    demo = demo_collection(source)
    assert demo is not None
    [stub] = demo.stubs(box(4.30, 50.80, 4.31, 50.81), 19142, 19143)  # 2022-05-30
    renderer = AssetRenderer(tmp_path / "cache", cache_bytes=10**9)
    layout, _, grid = renderer.layout(demo, stub, "B04_10m")
    ref = TileRef(0, 13, 17)
    raw = renderer.read(
        demo, stub, "B04_10m", layout.tile_offset(ref), layout.tile_offset(ref) + layout.tile_bytes
    )
    tile = np.frombuffer(raw, "<u2").reshape(512, 512)
    # The same pixels through load_collection's code path, on the same UTM lattice.
    x0 = grid.geobox.affine.c + 17 * 512 * 10
    y0 = grid.geobox.affine.f - 13 * 512 * 10
    from odc.geo import geom

    bbox = geom.box(x0 + 1, y0 - 512 * 10 + 1, x0 + 512 * 10 - 1, y0 - 1, 32631).to_crs(4326)
    request = LoadRequest(
        bbox=tuple(bbox.boundingbox),
        crs=4326,
        temporal=("2022-05-30", "2022-05-31"),
        bands=["B04"],
    )
    cube = source.load(request)
    xs, ys = cube.x.values, cube.y.values
    cols = np.round((xs - x0 - 5) / 10).astype(int)
    rows = np.round((y0 - ys - 5) / 10).astype(int)
    keep_x, keep_y = (cols >= 0) & (cols < 512), (rows >= 0) & (rows < 512)
    expected = cube.isel(t=0, bands=0).values[np.ix_(keep_y, keep_x)]
    got = tile[np.ix_(rows[keep_y], cols[keep_x])]
    assert expected.size > 400 * 400
    np.testing.assert_array_equal(got.astype(np.float32), expected)


@pytest.mark.slow
def test_cache_stays_under_its_limit(tmp_path: Path) -> None:
    demo = demo_collection(Sentinel2L2A())
    assert demo is not None
    [stub] = demo.stubs(box(4.30, 50.80, 4.31, 50.81), 19142, 19143)
    renderer = AssetRenderer(tmp_path / "cache", cache_bytes=3 * 512 * 512 * 2)
    layout, _, _ = renderer.layout(demo, stub, "B04_10m")
    for tx in range(6):
        offset = layout.tile_offset(TileRef(0, 0, tx))
        renderer.read(demo, stub, "B04_10m", offset, offset + 10)
    total = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*.bin"))
    assert 0 < total <= 3 * 512 * 512 * 2

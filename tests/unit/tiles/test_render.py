"""Web Mercator tiles of raster files, checked on the PNGs themselves."""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.transform import from_origin

from eostation.errors import RequestInvalid
from eostation.tiles.render import Style, render_tile, tile_bounds

HALF = math.pi * 6378137.0
# A 100 × 100 grid of 100 m pixels in UTM zone 32N near Trento (11.1° E, 46.0° N).
ORIGIN = (664_000.0, 5_106_000.0)
SIZE = 100
RES = 100.0


def write(
    path: Path, bands: int = 1, stats: bool = True, nodata: float | None = None
) -> np.ndarray:
    """A GeoTIFF whose neighbouring pixels differ widely (a shuffled 0…9999 per band)."""
    rng = np.random.default_rng(7)
    data = np.stack([rng.permutation(SIZE * SIZE).reshape(SIZE, SIZE) for _ in range(bands)])
    data = data.astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=bands,
        dtype="float32",
        crs="EPSG:32632",
        transform=from_origin(*ORIGIN, RES, RES),
        nodata=nodata,
    ) as dst:
        dst.write(data)
        if stats:
            for b in range(1, bands + 1):
                dst.update_tags(b, STATISTICS_MINIMUM="0.0", STATISTICS_MAXIMUM="9999.0")
    return data


def tile_pixel(row: int, col: int, z: int) -> tuple[int, int, int, int]:
    """Tile x, y and pixel column, row under the centre of source pixel ``row, col``."""
    e, n = ORIGIN[0] + (col + 0.5) * RES, ORIGIN[1] - (row + 0.5) * RES
    x, y = Transformer.from_crs(32632, 3857, always_xy=True).transform(e, n)
    size = 2 * HALF / 2**z
    tx, ty = int((x + HALF) // size), int((HALF - y) // size)
    px = int(((x + HALF) - tx * size) / size * 256)
    py = int(((HALF - y) - ty * size) / size * 256)
    return tx, ty, px, py


def rgba(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.size == (256, 256) and image.mode == "RGBA"
    return np.asarray(image)


def viridis(value: float) -> np.ndarray:
    return np.asarray(matplotlib.colormaps["viridis"](value)[:3]) * 255


@pytest.mark.parametrize(("row", "col"), [(37, 61), (80, 12), (5, 94)])
def test_a_known_pixel_lands_on_its_tile_pixel_in_the_ramp_colour(
    tmp_path: Path, row: int, col: int
) -> None:
    data = write(tmp_path / "r.tif")
    z = 15  # 4.8 m Mercator pixels (3.3 m on the ground) over 100 m source pixels
    tx, ty, px, py = tile_pixel(row, col, z)
    image = rgba(render_tile(tmp_path / "r.tif", z, tx, ty, Style()))
    got = image[py, px, :3].astype(float)
    assert image[py, px, 3] == 255
    # The colour is that of this source pixel's value, not of any neighbour's.
    candidates = {
        (r, c): viridis(data[0, r, c] / 9999.0)
        for r in range(row - 1, row + 2)
        for c in range(col - 1, col + 2)
    }
    best = min(candidates, key=lambda k: float(np.abs(candidates[k] - got).sum()))
    assert best == (row, col)
    assert np.abs(candidates[(row, col)] - got).max() <= 2


def test_outside_the_file_and_nodata_are_transparent(tmp_path: Path) -> None:
    data = write(tmp_path / "r.tif", nodata=float(9999))
    [[row], [col]] = np.nonzero(data[0] == 9999)
    z = 15
    tx, ty, px, py = tile_pixel(int(row), int(col), z)
    image = rgba(render_tile(tmp_path / "r.tif", z, tx, ty, Style()))
    assert image[py, px, 3] == 0
    # The file covers 10 km: a tile at zoom 12 (≈ 10 km Mercator, 7 km ground) next to it is empty.
    tx, ty, _, _ = tile_pixel(50, 50, 12)
    assert rgba(render_tile(tmp_path / "r.tif", 12, tx + 2, ty, Style()))[..., 3].max() == 0


def test_three_bands_are_red_green_blue_stretched_by_min_and_max(tmp_path: Path) -> None:
    data = write(tmp_path / "rgb.tif", bands=3)
    tx, ty, px, py = tile_pixel(20, 30, 15)
    style = Style(bands=(1, 2, 3), low=(0.0,), high=(9999.0,))
    got = rgba(render_tile(tmp_path / "rgb.tif", 15, tx, ty, style))[py, px]
    expected = np.rint(data[:, 20, 30] / 9999.0 * 255)
    assert got[:3].tolist() == expected.astype(int).tolist() and got[3] == 255


def test_stretch_comes_from_the_band_statistics(tmp_path: Path) -> None:
    """Statistics tags 0…9999 against GDAL's own statistics when the tags are absent."""
    data = write(tmp_path / "tags.tif")
    # Narrow tags: every value above 999 is drawn as the top of the ramp.
    with rasterio.open(tmp_path / "tags.tif", "r+") as ds:
        ds.update_tags(1, STATISTICS_MINIMUM="0.0", STATISTICS_MAXIMUM="999.0")
    row, col = map(int, np.argwhere(data[0] > 5000)[0])
    tx, ty, px, py = tile_pixel(row, col, 15)
    got = rgba(render_tile(tmp_path / "tags.tif", 15, tx, ty, Style()))[py, px, :3]
    assert np.abs(got - viridis(1.0)).max() <= 2


def test_bad_requests_are_refused() -> None:
    with pytest.raises(RequestInvalid, match="does not exist"):
        tile_bounds(3, 8, 0)
    with pytest.raises(RequestInvalid, match="colormap"):
        Style(colormap="rainbow-unicorn")
    with pytest.raises(RequestInvalid, match="one band"):
        Style(bands=(1, 2))


def test_tile_bounds_cover_the_mercator_square() -> None:
    assert tile_bounds(0, 0, 0) == pytest.approx((-HALF, -HALF, HALF, HALF))
    west, south, east, north = tile_bounds(1, 1, 0)
    assert (west, south, east, north) == pytest.approx((0, 0, HALF, HALF))

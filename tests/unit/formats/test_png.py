from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eostation.errors import ProcessParameterInvalid
from eostation.formats import FormatUnsuitable, default_formats

from .conftest import raster

WRITER = default_formats().get_writer("png")


def _pixels(path: Path) -> tuple[str, np.ndarray]:
    with Image.open(path) as im:
        return im.mode, np.asarray(im)


def test_greyscale_scaled_min_max(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None)  # 10*row + col: 0 .. 47
    [f] = WRITER.write(cube, tmp_path, {"min": 0, "max": 47})
    mode, px = _pixels(f.path)
    assert mode == "L" and px.shape == (5, 8)
    assert px[0, 0] == 0 and px[4, 7] == 255 and px[2, 3] == round(23 / 47 * 255)
    assert f.roles == ("data", "visual")


def test_data_bounds_by_default_and_clipping(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None)
    [f] = WRITER.write(cube, tmp_path, {})
    _, px = _pixels(f.path)
    assert px[0, 0] == 0 and px[4, 7] == 255
    [g] = WRITER.write(cube, tmp_path / "c", {"max": 10})
    _, px = _pixels(g.path)
    assert px[0, 5] == round(5 / 10 * 255) and px[3, 0] == 255


def test_rgb_band_order_and_per_band_bounds(tmp_path: Path) -> None:
    cube = raster(dates=1, bands=("B04", "B03", "B02"))  # band offsets 0, 100, 200
    [f] = WRITER.write(cube, tmp_path, {"min": [0, 100, 200], "max": [47, 147, 247]})
    mode, px = _pixels(f.path)
    assert mode == "RGB" and px.shape == (5, 8, 3)
    np.testing.assert_array_equal(px[4, 7], [255, 255, 255])
    np.testing.assert_array_equal(px[0, 0], [0, 0, 0])
    assert f.datetime == "2022-09-07T00:00:00Z"


def test_nan_is_transparent(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None)
    cube[1, 1] = np.nan
    [f] = WRITER.write(cube, tmp_path, {})
    mode, px = _pixels(f.path)
    assert mode == "LA" and px[1, 1, 1] == 0 and px[0, 0, 1] == 255


def test_uint8_is_written_unscaled(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None).astype("uint8")
    [f] = WRITER.write(cube, tmp_path, {})
    _, px = _pixels(f.path)
    np.testing.assert_array_equal(px, cube.values)


@pytest.mark.parametrize(
    ("cube", "match"),
    [(raster(bands=None), "date"), (raster(dates=None), "bands")],
)
def test_unsuitable_cubes(tmp_path: Path, cube: object, match: str) -> None:
    with pytest.raises(FormatUnsuitable, match=match):
        WRITER.write(cube, tmp_path, {})


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ProcessParameterInvalid, match="percent_clip"):
        WRITER.check_options({"percent_clip": 80})
    with pytest.raises(FormatUnsuitable, match="min"):
        WRITER.write(raster(dates=None, bands=None), tmp_path, {"min": [1, 2]})

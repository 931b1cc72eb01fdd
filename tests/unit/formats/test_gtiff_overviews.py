"""Overviews of a streamed GeoTIFF, halved from the written blocks: equal to GDAL's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import rasterio
import rasterio.shutil
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.enums import Resampling

from eostation.formats import default_formats
from eostation.formats import gtiff as gtiff_module
from eostation.formats.pyramid import Pyramid, halve, overview_count

WRITER = default_formats().get_writer("GTiff")


def _values(dtype: str, shape: tuple[int, int, int]) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(7)
    values = (rng.random(shape) * 1000).astype(dtype)
    if values.dtype.kind == "f":
        values[rng.random(shape) < 0.3] = np.nan
        values[:, :4, :4] = np.nan  # a 2×2 block of every level without any valid pixel
    return values


def _cube(
    values: np.ndarray[Any, Any], chunks: tuple[int, int], bands_per_chunk: int = 1
) -> xr.DataArray:
    _, height, width = values.shape
    geobox = GeoBox.from_bbox((0, 0, 10 * width, 10 * height), "epsg:32633", resolution=10)
    data = da.from_array(values, chunks=(bands_per_chunk, *chunks))
    coords = {"bands": [f"B{i}" for i in range(values.shape[0])], **xr_coords(geobox)}
    return xr.DataArray(data, dims=("bands", "y", "x"), coords=coords)


def _gdal_overviews(
    values: np.ndarray[Any, Any], path: Path, nodata: float | None, resampling: Resampling
) -> list[np.ndarray[Any, Any]]:
    """What ``rasterio``'s ``build_overviews`` makes of the same pixels."""
    count, height, width = values.shape
    profile: dict[str, Any] = {"driver": "GTiff", "width": width, "height": height}
    profile.update(count=count, dtype=values.dtype.name, nodata=nodata, tiled=True)
    profile.update(crs="epsg:32633", transform=Affine(10, 0, 0, 0, -10, 10 * height))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values)
        dst.build_overviews([2, 4], resampling)
    levels = []
    for level in range(2):
        with rasterio.open(path, overview_level=level) as src:
            levels.append(src.read())
    return levels


def _levels(path: Path) -> tuple[np.ndarray[Any, Any], list[np.ndarray[Any, Any]]]:
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4]
        full = src.read()
    levels = []
    for level in range(2):
        with rasterio.open(path, overview_level=level) as src:
            levels.append(src.read())
    return full, levels


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Streams every layer and records what each COG copy starts from (the copy still runs)."""
    monkeypatch.setattr(gtiff_module, "_IN_MEMORY_BYTES", 0)
    seen: list[tuple[str, str]] = []
    real = rasterio.shutil.copy

    def copy(source: Any, target: Any, **options: Any) -> None:
        if options.get("driver") == "COG":
            seen.append((Path(source).suffix, options["OVERVIEWS"]))
        real(source, target, **options)

    monkeypatch.setattr(gtiff_module.rasterio.shutil, "copy", copy)
    return seen


@pytest.mark.parametrize(
    ("dtype", "nodata", "resampling"),
    [
        ("float32", None, Resampling.average),  # NaN is the file's nodata
        ("float32", -9999.0, Resampling.average),  # NaN written as -9999, skipped by the mean
        ("uint16", None, Resampling.nearest),
    ],
)
def test_overviews_from_blocks_equal_gdal(
    tmp_path: Path,
    copies: list[tuple[str, str]],
    dtype: str,
    nodata: float | None,
    resampling: Resampling,
) -> None:
    values = _values(dtype, (2, 1536, 1024))
    options = {} if nodata is None else {"nodata": nodata}
    [f] = WRITER.write(_cube(values, (512, 512)), tmp_path / "out", options)
    # the COG driver copied the levels made from the blocks instead of building its own
    assert copies == [(".vrt", "FORCE_USE_EXISTING")]
    full, levels = _levels(f.path)
    written = values if nodata is None else np.where(np.isnan(values), nodata, values)
    np.testing.assert_array_equal(full, written)
    file_nodata = np.nan if dtype == "float32" and nodata is None else nodata
    expected = _gdal_overviews(written, tmp_path / "gdal.tif", file_nodata, resampling)
    for ours, gdal in zip(levels, expected, strict=True):
        assert ours.shape == gdal.shape and ours.dtype == gdal.dtype
        np.testing.assert_allclose(ours, gdal, rtol=1e-6, equal_nan=True)
    if nodata is not None:
        assert (levels[1][:, 0, 0] == nodata).all() and (levels[1] != nodata).mean() > 0.9
    assert not list((tmp_path / "out").glob("*.partial*"))


def test_result_is_a_cloud_optimized_layout(tmp_path: Path, copies: list[tuple[str, str]]) -> None:
    values = _values("float32", (3, 1536, 1024))
    [f] = WRITER.write(_cube(values, (512, 1024), bands_per_chunk=3), tmp_path, {})
    assert copies == [(".vrt", "FORCE_USE_EXISTING")]
    expected = _gdal_overviews(values, tmp_path / "gdal.tif", np.nan, Resampling.average)
    np.testing.assert_allclose(_levels(f.path)[1][1], expected[1], rtol=1e-6, equal_nan=True)
    with rasterio.open(f.path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.block_shapes == [(512, 512)] * 3 and src.overviews(3) == [2, 4]
        assert src.descriptions == ("B0", "B1", "B2")
        assert "STATISTICS_MEAN" in src.tags(2)

        # the COG rule GDAL's validator checks: the smallest level's data first, full
        # resolution last
        def first_block(level: int | None) -> int:
            return int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1, ovr=level))

        assert first_block(1) < first_block(0) < first_block(None)


@pytest.mark.parametrize(
    ("dtype", "shape", "chunks"),
    [
        ("float32", (1, 1540, 1030), (512, 512)),  # 1030 halves to 515, not exactly to 257
        ("uint16", (1, 1540, 1030), (512, 512)),
        ("float32", (1, 1024, 2048), (512, 502)),  # chunk edges cut level 2's 2×2 blocks
    ],
)
def test_levels_below_the_exact_halves_equal_the_cog_drivers_own(
    tmp_path: Path,
    copies: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    dtype: str,
    shape: tuple[int, int, int],
    chunks: tuple[int, int],
) -> None:
    cube = _cube(_values(dtype, shape), chunks)
    [f] = WRITER.write(cube, tmp_path / "ours", {})
    assert copies[-1] == (".vrt", "FORCE_USE_EXISTING")
    monkeypatch.setattr(gtiff_module.Pyramid, "plan", lambda *args, **kwargs: None)
    [g] = WRITER.write(cube, tmp_path / "gdal", {})  # the COG driver reads the full resolution
    assert copies[-1] == (".tif", "AUTO")
    (full, ours), (gdal_full, gdal) = _levels(f.path), _levels(g.path)
    np.testing.assert_array_equal(full, gdal_full)
    for mine, theirs in zip(ours, gdal, strict=True):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, equal_nan=True)


def test_odd_layers_leave_the_overviews_to_gdal(
    tmp_path: Path, copies: list[tuple[str, str]]
) -> None:
    [f] = WRITER.write(_cube(_values("float32", (1, 1031, 600)), (512, 512)), tmp_path, {})
    assert copies == [(".tif", "AUTO")]
    with rasterio.open(f.path) as src:
        assert src.overviews(1) == [2, 4]


def test_no_overviews_requested_or_needed(tmp_path: Path, copies: list[tuple[str, str]]) -> None:
    WRITER.write(
        _cube(_values("float32", (1, 1536, 1024)), (512, 512)), tmp_path, {"overviews": "NONE"}
    )
    WRITER.write(_cube(_values("float32", (1, 512, 384)), (256, 256)), tmp_path / "small", {})
    assert copies == [(".tif", "NONE"), (".tif", "AUTO")]


@pytest.mark.parametrize(
    ("width", "height", "levels"),
    [
        (2048, 2048, 2),
        (1025, 1030, 2),
        (513, 600, 1),
        (77, 4000, 3),
        (512, 512, 0),
        (4096, 4096, 3),
    ],
)
def test_level_count_is_the_cog_drivers(width: int, height: int, levels: int) -> None:
    assert overview_count(width, height, 512) == levels


def test_plan_needs_exact_halves_and_aligned_chunks(tmp_path: Path) -> None:
    profile = {"width": 2048, "height": 1024, "blockxsize": 512}
    assert Pyramid.plan(tmp_path / "a", profile, None, average=True) is not None
    assert Pyramid.plan(tmp_path / "a", profile, ((2,), (512, 512), (1024, 1024)), average=True)
    assert Pyramid.plan(tmp_path / "a", profile, ((2,), (1021, 3), (2048,)), average=True) is None
    assert Pyramid.plan(tmp_path / "a", dict(profile, width=2047), None, average=True) is None
    # 2046 halves to 1023, which GDAL halves to 511 by weighing partial pixels
    two_levels = Pyramid.plan(tmp_path / "a", dict(profile, width=2046), None, average=True)
    assert two_levels is not None and len(two_levels.paths) == 1 and two_levels.levels == 2


def test_halve_averages_valid_pixels_only() -> None:
    band = np.array([[1, 3, np.nan, np.nan], [5, np.nan, np.nan, np.nan]], dtype="float32")
    np.testing.assert_array_equal(halve(band, None, average=True), [[3.0, np.nan]])
    band = np.array([[1, -1, 7, 9], [-1, -1, 8, 8]], dtype="float32")
    np.testing.assert_array_equal(halve(band, -1.0, average=True), [[1.0, 8.0]])
    np.testing.assert_array_equal(halve(band, -1.0, average=False), [[1.0, 7.0]])


def test_a_failed_write_leaves_no_level_files(
    tmp_path: Path, copies: list[tuple[str, str]]
) -> None:
    cube = _cube(_values("float32", (1, 1536, 1024)), (512, 512))

    def fail_late(block: np.ndarray[Any, Any], block_info: Any = None) -> np.ndarray[Any, Any]:
        if block_info[0]["chunk-location"] == (0, 2, 1):
            raise ValueError("the last block fails")
        return block

    broken = cube.copy(data=cube.data.map_blocks(fail_late, dtype="float32"))
    with pytest.raises(ValueError, match="last block"):
        WRITER.write(broken, tmp_path, {})
    assert copies == [] and list(tmp_path.iterdir()) == []

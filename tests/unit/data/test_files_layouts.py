"""The files source on the layouts users have: one COG per band and date, and Zarr stores
chunked one date per chunk or many dates per chunk (each stored chunk read once)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.data.base import LoadRequest
from eostation.data.files import CollectionConfigError
from eostation.data.registry import build_registry

DAYS = pd.date_range("2023-03-01", periods=5, freq="3D")
GRID = GeoBox.from_bbox((500_000, 4_999_000, 501_000, 5_000_000), "EPSG:32631", resolution=10)
BANDS = ("B04", "B08")


def _values(band: int) -> np.ndarray:
    """Distinct DN per band, date and pixel; 0 (no-data) in one corner of date 2."""
    rng = np.random.default_rng(band)
    out = rng.integers(1, 10_000, (len(DAYS), *GRID.shape), dtype=np.uint16)
    out[2, :10, :10] = 0
    return out


def _toml(folder: Path, body: str) -> None:
    bands = "".join(
        f'[[collections.bands]]\nname = "{b}"\nnodata = 0\n' for b in BANDS
    )  # sources default to the names
    (folder / "collections.toml").write_text(f'[[collections]]\nid = "L"\n{body}{bands}')


def _expected(band: str, days: slice = slice(None)) -> np.ndarray:
    values = _values(BANDS.index(band))[days].astype(np.float32)
    values[values == 0] = np.nan
    return values


def _cogs(folder: Path, extra_band: str | None = None) -> None:
    profile = {
        "driver": "COG", "width": GRID.width, "height": GRID.height, "count": 1,
        "dtype": "uint16", "crs": "EPSG:32631", "transform": GRID.affine, "nodata": 0,
        "blocksize": 32,
    }  # fmt: skip
    for j, band in enumerate([*BANDS, *([extra_band] if extra_band else [])]):
        values = _values(j)
        for i, day in enumerate(DAYS):
            with rasterio.open(folder / f"{band}_{day:%Y%m%d}.tif", "w", **profile) as ds:
                ds.write(values[i], 1)


COG_TOML = (
    'paths = "*.tif"\n'
    "date = { regex = '^(?P<band>B\\d\\d)_(?P<date>\\d{8})\\.tif$', format = \"%Y%m%d\" }\n"
)


def test_one_cog_per_band_and_date_is_one_cube(tmp_path: Path) -> None:
    _cogs(tmp_path, extra_band="B11")  # a band the collection does not serve: ignored
    _toml(tmp_path, COG_TOML)
    source = build_registry(tmp_path).get("L")
    cube = source.load(LoadRequest(bands=["B08", "B04"]))
    assert cube.sizes == {"t": 5, "bands": 2, "y": 100, "x": 100}
    np.testing.assert_array_equal(cube.t.values, DAYS.to_numpy())
    np.testing.assert_array_equal(cube.sel(bands="B04").values, _expected("B04"))
    np.testing.assert_array_equal(cube.sel(bands="B08").values, _expected("B08"))
    assert np.isnan(cube.sel(bands="B04").values[2, :10, :10]).all()
    # A window across the files' 32-px blocks, two of the dates.
    sub = source.load(
        LoadRequest(
            bands=["B04"],
            bbox=(500_150, 4_999_300, 500_470, 4_999_810),
            crs=32631,
            temporal=("2023-03-04", "2023-03-08"),
        )
    )
    np.testing.assert_array_equal(sub.values[:, 0], _expected("B04", slice(1, 3))[:, 19:70, 15:47])
    assert source.metadata()["eostation:files"] == 10


def test_band_regex_matching_no_configured_band_is_a_config_error(tmp_path: Path) -> None:
    _cogs(tmp_path)
    _toml(tmp_path, COG_TOML.replace("B\\d\\d", "X\\d\\d|B0\\d"))
    for path in tmp_path.glob("*.tif"):
        path.rename(path.with_name("X" + path.name[1:]))
    with pytest.raises(CollectionConfigError, match=r"'L'.*no file holds one of the bands"):
        build_registry(tmp_path)


def _zarr(folder: Path, t_chunk: int) -> Path:
    path = folder / "s2.zarr"
    data = {b: (("t", "y", "x"), _values(j)) for j, b in enumerate(BANDS)}
    ds = xr.Dataset(data, coords={"t": DAYS.to_numpy(), **xr_coords(GRID)})
    encoding = {b: {"chunks": (t_chunk, 50, 50), "_FillValue": None} for b in BANDS}
    ds.to_zarr(str(path), encoding=encoding)
    _toml(folder, 'paths = "s2.zarr"\ndate = { coordinate = "t" }\nchunks = 50\n')
    return path


class _ChunkReads:
    """Counts the chunk files of a Zarr store that are opened (Python's ``open`` audit
    event: zarr's local store reads each chunk through it)."""

    def __init__(self) -> None:
        self.store: Path | None = None
        self.counts: Counter[str] = Counter()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and self.store is not None and isinstance(args[0], str | Path):
            path = Path(args[0])
            if self.store in path.parents and _is_chunk(path.relative_to(self.store)):
                self.counts[str(path.relative_to(self.store))] += 1


def _is_chunk(relative: Path) -> bool:
    """A stored chunk of a band array (not metadata, not a coordinate)."""
    return relative.parts[0] in BANDS and not relative.name.startswith((".z", "zarr.json"))


@pytest.fixture(scope="module")
def chunk_reads() -> Iterator[_ChunkReads]:
    spy = _ChunkReads()  # an audit hook cannot be removed: one for the module, disarmed after
    yield spy
    spy.store = None


@pytest.mark.parametrize("t_chunk", [1, 2, 5])
def test_zarr_chunks_are_read_once_whatever_their_dates(
    tmp_path: Path, chunk_reads: _ChunkReads, t_chunk: int
) -> None:
    store = _zarr(tmp_path, t_chunk)
    cube = build_registry(tmp_path).get("L").load(LoadRequest())
    chunk_reads.store, chunk_reads.counts = store.resolve(), Counter()
    values = cube.values
    chunk_reads.store = None
    np.testing.assert_array_equal(values[:, 0], _expected("B04"))
    np.testing.assert_array_equal(values[:, 1], _expected("B08"))
    stored = [p for p in store.rglob("*") if p.is_file() and _is_chunk(p.relative_to(store))]
    assert len(stored) == len(BANDS) * 4 * -(-len(DAYS) // t_chunk)
    assert set(chunk_reads.counts) == {
        str(p.resolve().relative_to(store.resolve())) for p in stored
    }
    assert set(chunk_reads.counts.values()) == {1}


def test_zarr_dates_picked_from_inside_a_chunk(tmp_path: Path, chunk_reads: _ChunkReads) -> None:
    store = _zarr(tmp_path, 5)
    source = build_registry(tmp_path).get("L")
    cube = source.load(LoadRequest(bands=["B08"], temporal=("2023-03-04", "2023-03-11")))
    chunk_reads.store, chunk_reads.counts = store.resolve(), Counter()
    values = cube.values
    chunk_reads.store = None
    np.testing.assert_array_equal(values[:, 0], _expected("B08", slice(1, 4)))
    assert len(chunk_reads.counts) == 4 and set(chunk_reads.counts.values()) == {1}


def test_zarr_chunks_read_once_under_a_bbox_off_their_edges(
    tmp_path: Path, chunk_reads: _ChunkReads
) -> None:
    """A bbox starting 20 px into the 50-px chunks: the cube's chunks start at the
    stored ones' edges, so that no stored chunk is read (and decompressed) twice."""
    store = _zarr(tmp_path, 5)
    source = build_registry(tmp_path).get("L")
    bbox = (500_200, 4_999_000, 501_000, 4_999_800)  # rows 20–100, cols 20–100
    cube = source.load(LoadRequest(bands=["B04"], bbox=bbox, crs=32631))
    assert cube.chunks is not None
    assert cube.chunks[2:] == ((30, 50), (30, 50))
    chunk_reads.store, chunk_reads.counts = store.resolve(), Counter()
    values = cube.values
    chunk_reads.store = None
    np.testing.assert_array_equal(values[:, 0], _expected("B04")[:, 20:, 20:])
    assert len(chunk_reads.counts) == 4 and set(chunk_reads.counts.values()) == {1}


@pytest.mark.parametrize(
    ("bbox", "size", "y_chunks", "x_chunks"),
    [
        # rows 10–90, cols 3–97: the first chunk ends at the block edge at 64
        ((500_030, 4_999_100, 500_970, 4_999_900), 64, (54, 26), (61, 33)),
        # rows 30–100: a 2-px sliver before the block edge at 32 joins the first chunk
        ((500_000, 4_999_000, 501_000, 4_999_700), 32, (34, 32, 4), (32, 32, 32, 4)),
    ],
)
def test_cog_chunks_follow_the_files_blocks(
    tmp_path: Path,
    bbox: tuple[float, ...],
    size: int,
    y_chunks: tuple[int, ...],
    x_chunks: tuple[int, ...],
) -> None:
    """COGs in 32-px blocks: inner chunk edges fall on block edges, not ``chunks`` px
    from the bbox's corner, and the values are the files' (read with rasterio)."""
    _cogs(tmp_path)
    _toml(tmp_path, COG_TOML + f"chunks = {size}\n")
    cube = build_registry(tmp_path).get("L").load(LoadRequest(bbox=bbox, crs=32631))
    assert cube.chunks is not None
    assert cube.chunks[2:] == (y_chunks, x_chunks)
    window = rasterio.windows.from_bounds(*bbox, transform=GRID.affine).round_offsets()
    rows, cols = window.toslices()
    for band in BANDS:
        for i, day in enumerate(DAYS):
            with rasterio.open(tmp_path / f"{band}_{day:%Y%m%d}.tif") as ds:
                raw = ds.read(1).astype(np.float32)
            raw[raw == 0] = np.nan
            np.testing.assert_array_equal(cube.sel(bands=band).values[i], raw[rows, cols])


def test_cog_read_in_place_masks_and_scales(tmp_path: Path) -> None:
    """GeoTIFF windows read straight into the cube's block still get NaN for no-data and
    the collection's scale/offset (``apply_scale``), as rasterio's values say."""
    _cogs(tmp_path)
    bands = "".join(
        f'[[collections.bands]]\nname = "{b}"\nnodata = 0\nscale = 0.0001\noffset = -0.1\n'
        for b in BANDS
    )
    (tmp_path / "collections.toml").write_text(
        f'[[collections]]\nid = "L"\n{COG_TOML}apply_scale = true\n{bands}'
    )
    cube = build_registry(tmp_path).get("L").load(LoadRequest(bands=["B08"]))
    with rasterio.open(tmp_path / f"B08_{DAYS[2]:%Y%m%d}.tif") as ds:
        raw = ds.read(1)
    expected = raw.astype(np.float32) * np.float32(0.0001) + np.float32(-0.1)
    expected[raw == 0] = np.nan
    got = cube.values[2, 0]
    assert np.isnan(got[:10, :10]).all()
    np.testing.assert_array_equal(got, expected)


def test_header_scan_names_the_first_bad_file(tmp_path: Path) -> None:
    """The headers are read on several threads; a config error still names the first
    file (by path) that has it, as a one-by-one scan would."""
    profile = {
        "driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "uint16",
        "transform": GRID.affine,
    }  # fmt: skip
    for i, day in enumerate(DAYS):
        crs = {} if i in (2, 4) else {"crs": "EPSG:32631"}  # dates 2 and 4 have no CRS
        for band in BANDS:
            with rasterio.open(tmp_path / f"{band}_{day:%Y%m%d}.tif", "w", **profile, **crs) as ds:
                ds.write(np.ones((8, 8), np.uint16), 1)
    _toml(tmp_path, COG_TOML)
    with pytest.raises(CollectionConfigError, match=f"B04_{DAYS[2]:%Y%m%d}.tif has no CRS"):
        build_registry(tmp_path)

"""The archive on object storage (moto's S3 server as an emulator) and on ``file://``.

What a query returns must not depend on where the archive lives; an ingest is published
by its manifest, written last, so a failed ingest leaves the previous state; a query on
S3 reads only the shards and chunks it touches, and never lists the bucket.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from eostation.archive import Archive, HealpixGrid
from eostation.archive.state import MANIFEST, ArchiveWriteError
from tests.s3_server import S3Emulator, s3_emulator  # noqa: F401

from .conftest import make_cube

# Coarse cells (~400 m) keep the cubes small: 64 chunks per shard, 256 cells per chunk.
GRID = HealpixGrid(level=14, chunk_level=10, shard_level=7)
SMALL = (10.0, 45.0, 10.5, 45.5)
WIDE = (10.0, 45.0, 11.0, 45.8)
NEAR = (10.1, 45.1, 10.4, 45.4)
QUERY = (10.2, 45.2, 10.3, 45.3)
DATES = ["2023-06-01", "2023-06-06"]


def field(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    return 1000.0 + 50 * (x - 10) + 30 * (y - 45) + k


def _url(kind: str, tmp_path: Path, s3: S3Emulator) -> str:
    return f"s3://{s3.bucket()}/a.zarr" if kind == "s3" else f"file://{tmp_path}/remote/a.zarr"


@pytest.mark.parametrize("kind", [pytest.param("s3", marks=pytest.mark.slow), "file"])
def test_ingest_and_query_match_the_local_disk_archive(
    kind: str,
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    cube = make_cube(SMALL, 0.004, DATES, field, bands=("a",))
    local = Archive(tmp_path / "local.zarr", GRID)
    remote = Archive(_url(kind, tmp_path, s3_emulator), GRID, options=s3_emulator.options)
    assert not remote.exists
    local.ingest(cube)
    remote.ingest(cube)

    fresh = Archive(remote.url, options=s3_emulator.options)  # a reader in another process
    assert fresh.exists and fresh.grid == GRID
    got = fresh.query(QUERY, ("2023-06-01", "2023-06-07"), 0.005)
    want = local.query(QUERY, ("2023-06-01", "2023-06-07"), 0.005)
    xr.testing.assert_identical(got, want)
    assert got.odc.geobox.crs.epsg == 4326 and got.sizes == {
        "time": 2,
        "latitude": 20,
        "longitude": 20,
    }
    assert [str(t)[:10] for t in got.time.values] == DATES
    # the values are the field's, not just equal to each other
    lat, lon = np.meshgrid(got.latitude.values, got.longitude.values, indexing="ij")
    np.testing.assert_allclose(got["a"].values[1], field(lon, lat, 1), atol=0.3)
    cells = fresh.query(QUERY, "2023-06-06")
    xr.testing.assert_identical(cells, local.query(QUERY, "2023-06-06"))

    info, ref = fresh.info(), local.info()
    assert info["path"] == remote.location.url and info["dates"] == ref["dates"]
    assert (
        info["shard_cells"] == ref["shard_cells"] and info["coverage_bbox"] == ref["coverage_bbox"]
    )
    assert info["bands"]["a"]["shards"] == ref["bands"]["a"]["shards"] > 0
    assert info["bands"]["a"]["bytes"] > 0


def _gets(s3: S3Emulator, url: str) -> tuple[int, list[tuple[str, str, str]]]:
    with s3.recording() as log:
        ds = Archive(url, options=s3.options).query(QUERY, "2023-06-06", 0.005, bands=["a"])
    assert np.isfinite(ds["a"].values).all()
    return sum(1 for m, _, _ in log if m == "GET"), log


@pytest.mark.slow
def test_a_query_reads_the_chunks_it_touches_whatever_the_archive_size(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    small = f"s3://{s3_emulator.bucket()}/a.zarr"
    wide = f"s3://{s3_emulator.bucket()}/a.zarr"
    for url, bbox in ((small, NEAR), (wide, WIDE)):
        cube = make_cube(bbox, 0.008, DATES[1:], field, bands=("a",))
        Archive(url, GRID, options=s3_emulator.options).ingest(cube)
    wide_info = Archive(wide, options=s3_emulator.options).info()
    assert len(wide_info["shard_cells"]) >= 3 * len(
        Archive(small, options=s3_emulator.options).info()["shard_cells"]
    )

    small_gets, log = _gets(s3_emulator, small)
    wide_gets, _ = _gets(s3_emulator, wide)
    assert small_gets == wide_gets  # the same query costs the same on a larger archive
    assert not [q for _, _, q in log if "list-type" in q or "prefix" in q]  # no listing
    # manifest + consolidated metadata, then per shard touched its index and the chunks
    lon = np.arange(QUERY[0] + 0.0025, QUERY[2], 0.005)
    lat = np.arange(QUERY[1] + 0.0025, QUERY[3], 0.005)
    ids = GRID.lattice_ids(lon, lat)
    chunks = np.unique(GRID.chunk_of(ids))
    shards = np.unique(chunks >> np.uint64(2 * (GRID.chunk_level - GRID.shard_level)))
    data = [p for m, p, _ in log if m == "GET" and "/bands/" in p]
    assert len(data) <= chunks.size + 2 * shards.size, (len(data), chunks.size, shards.size)
    assert small_gets - len(data) <= 3


@pytest.mark.slow
def test_an_interrupted_ingest_leaves_the_previous_state(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    url = f"s3://{s3_emulator.bucket()}/a.zarr"
    archive = Archive(url, GRID, options=s3_emulator.options)
    archive.ingest(make_cube(SMALL, 0.004, DATES[:1], field, bands=("a",)))
    before = Archive(url, options=s3_emulator.options).query(QUERY, None, 0.005)
    manifest = Archive(url, options=s3_emulator.options).location.read(MANIFEST)
    assert manifest is not None and json.loads(manifest)["generation"] == 2

    # the new date's first shards are written, then the store refuses every write
    later = make_cube(WIDE, 0.004, DATES[1:], lambda x, y, k: 7.0 + 0 * x * y, bands=("a",))
    refused = s3_emulator.refusing_writes(after=2, matching="/bands/a/c/")
    with refused, pytest.raises(ArchiveWriteError) as caught:
        archive.ingest(later)
    message = str(caught.value)
    assert url in message and "PermissionError: writes refused" in message
    assert "keeps its previous state" in message

    reader = Archive(url, options=s3_emulator.options)
    assert reader.location.read(MANIFEST) == manifest
    assert [str(t)[:10] for t in reader.store.times()] == DATES[:1]
    xr.testing.assert_identical(reader.query(QUERY, None, 0.005), before)

    # once the store takes writes again the same ingest goes through
    archive.ingest(later)
    after = Archive(url, options=s3_emulator.options).query(QUERY, None, 0.005)
    assert [str(t)[:10] for t in after.time.values] == DATES
    xr.testing.assert_identical(after.isel(time=[0]), before)
    np.testing.assert_allclose(after["a"].values[1], 7.0, rtol=1e-6)


def test_a_merge_into_a_published_date_never_rewrites_its_shards(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/a.zarr"
    archive = Archive(url, GRID)
    archive.ingest(make_cube(SMALL, 0.004, DATES[:1], field))
    reader = Archive(url)
    old = reader.store  # a reader holding the published state during the next ingest
    files = {
        p: p.read_bytes()
        for p in (tmp_path / "a.zarr" / "bands").rglob("*")
        if p.is_file() and "/c/" in str(p)
    }
    west = (10.0, 45.0, 10.25, 45.5)
    archive.ingest(make_cube(west, 0.004, DATES[:1], lambda x, y, k: 5.0 + 0 * x * y))
    assert all(p.read_bytes() == data for p, data in files.items())  # copy-on-write
    ds = Archive(url).query(SMALL, DATES[0], 0.01)
    lon = ds.longitude.values
    a = ds["a"].values[0]
    assert np.allclose(a[:, lon < 10.2][np.isfinite(a[:, lon < 10.2])], 5.0)
    assert (a[:, lon > 10.3] > 1000).all()
    # the reader's snapshot still reads the old values for the whole date
    from eostation.archive.query import query_grid

    np.testing.assert_array_less(
        1000, query_grid(old, SMALL, DATES[0], 0.01)["a"].values[0][:, lon < 10.2][:, 2:]
    )

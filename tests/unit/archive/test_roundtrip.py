"""Ingest then query: values checked against cells recomputed independently with healpix-geo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from healpix_geo import nested
from pyproj import Transformer

from eostation.archive import Archive, Encoding
from eostation.archive.regrid import _pixel_lonlat

from .conftest import make_cube

BBOX = (10.0, 45.0, 10.04, 45.03)
DATES = ["2023-06-01", "2023-06-06"]


def linear(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    return 1000.0 + 3000.0 * (x - 10.0) + 5000.0 * (y - 45.0) + 10.0 * k


def wgs84_cells(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return nested.lonlat_to_healpix(lon.ravel(), lat.ravel(), 18, ellipsoid="WGS84")


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_bilinear_round_trip_is_exact_for_a_linear_field(tmp_path: Path) -> None:
    cube = make_cube(BBOX, 0.001, DATES, linear)  # ~80-110 m pixels: coarser than half a cell
    archive = Archive(tmp_path / "a")
    report = archive.ingest(cube)
    assert report.method == "bilinear"
    inner = (10.002, 45.002, 10.038, 45.028)  # at least one pixel away from the edges
    res = 0.001
    ds = Archive(tmp_path / "a").query(inner, DATES[1], res)
    lon2, lat2 = np.meshgrid(ds.longitude.values, ds.latitude.values)
    ids = wgs84_cells(lon2, lat2)
    clon, clat = nested.healpix_to_lonlat(ids, 18, ellipsoid="WGS84")
    expected = linear(clon, clat, 1).reshape(lon2.shape)
    got = ds["a"].values[0]
    # each output pixel holds the bilinear value at the centre of the exact cell it falls in
    np.testing.assert_allclose(got, expected, atol=2e-3)
    np.testing.assert_allclose(ds["b"].values[0], expected + 100, atol=2e-3)
    # against the source at its own pixel centres: the nearest-cell error of a 25 m grid
    source = linear(lon2, lat2, 1)
    err = np.abs(got - source)
    assert err.max() < 2.5  # |grad| ≈ 0.045/m in y, 0.027/m in x; centre offsets ≤ ~20 m
    assert 0.1 < err.mean() < 1.0  # non-zero: cells are not pixels


def test_mean_binning_equals_groupby_of_independent_cell_ids(tmp_path: Path) -> None:
    cube = make_cube(BBOX, 0.00005, DATES[:1], linear)  # ~4-6 m pixels: binned
    cube[0, 0, :40, :70] = np.nan  # NaN pixels are left out of the mean
    archive = Archive(tmp_path / "a")
    assert archive.ingest(cube).method == "mean"
    lon2, lat2 = np.meshgrid(cube.x.values, cube.y.values)
    ref = (
        pd.DataFrame({"cell": wgs84_cells(lon2, lat2), "v": cube.values[0, 0].ravel()})
        .groupby("cell")["v"]
        .mean()
    )
    ds = archive.query(BBOX, DATES[0])
    got = pd.Series(ds["a"].values[0], index=ds.cell_ids.values)
    common = got.index.intersection(ref.index)
    assert common.size > 0.9 * got.size > 10_000
    np.testing.assert_allclose(got[common], ref[common], rtol=0, atol=1e-3, equal_nan=True)
    # every cell with data came from at least one source pixel, none is invented
    assert got.index.isin(ref.index).all()


def test_projected_source_geolocation_matches_pyproj() -> None:
    from odc.geo.geobox import GeoBox
    from rasterio.transform import Affine

    gb = GeoBox((300, 400), Affine(10.0, 0, 578740.0, 0, -10.0, 4989050.0), "EPSG:32632")
    lon, lat = _pixel_lonlat(gb, 17, 300)
    rows, cols = np.mgrid[17:300, 0:400] + 0.5
    t = gb.transform
    x, y = t.c + cols * t.a, t.f + rows * t.e
    elon, elat = Transformer.from_crs(32632, 4326, always_xy=True).transform(x, y)
    assert np.abs(lon - elon).max() < 1e-8 and np.abs(lat - elat).max() < 1e-8  # < 1 mm


def test_utm_source_round_trip(tmp_path: Path) -> None:
    w, n = 578740.0, 4989050.0
    cube = make_cube(
        (w, n - 2000, w + 3000, n),
        10.0,
        DATES[:1],
        lambda x, y, k: (x - w) / 10 + 2 * (n - y) / 10,
        crs="EPSG:32632",
    )
    archive = Archive(tmp_path / "a")
    assert archive.ingest(cube).method == "mean"
    tr = Transformer.from_crs(32632, 4326, always_xy=True)
    x2, y2 = np.meshgrid(cube.x.values, cube.y.values)
    lon, lat = tr.transform(x2, y2)
    ref = (
        pd.DataFrame({"cell": wgs84_cells(lon, lat), "v": cube.values[0, 0].ravel()})
        .groupby("cell")["v"]
        .mean()
    )
    bbox = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    ds = archive.query(bbox, DATES[0])
    got = pd.Series(ds["a"].values[0], index=ds.cell_ids.values)
    common = got.index.intersection(ref.index)
    assert common.size > 0.95 * got.size
    assert (np.abs(got[common] - ref[common]) < 1e-3).mean() > 0.999


def test_reingest_is_idempotent_byte_for_byte(tmp_path: Path) -> None:
    cube = make_cube(BBOX, 0.0002, DATES, linear)
    archive = Archive(tmp_path / "a")
    archive.ingest(cube)
    before = tree_digest(tmp_path / "a")
    archive.ingest(cube)
    assert tree_digest(tmp_path / "a") == before
    assert archive.store.times().size == 2


def test_nan_aware_merge_and_time_append(tmp_path: Path) -> None:
    left = make_cube(
        BBOX, 0.0002, DATES[:1], lambda x, y, k: np.where(x < 10.02, 1.0, np.nan) + 0 * y
    )
    right = make_cube(
        BBOX, 0.0002, DATES[:1], lambda x, y, k: np.where(x >= 10.02, 2.0, np.nan) + 0 * y
    )
    later = make_cube(BBOX, 0.0002, ["2023-05-01"], lambda x, y, k: 7.0 + 0 * x + 0 * y)
    archive = Archive(tmp_path / "a")
    archive.ingest(left)
    archive.ingest(right)  # NaN where left has data: left survives
    archive.ingest(later)  # appended, earlier in time than what is stored
    ds = archive.query((10.005, 45.005, 10.035, 45.025), ("2023-01-01", "2024-01-01"), 0.0005)
    assert list(ds.time.values.astype("datetime64[D]").astype(str)) == ["2023-05-01", "2023-06-01"]
    a = ds["a"].values
    np.testing.assert_allclose(a[0], 7.0, rtol=1e-6)  # bilinear weights are float32
    lon = ds.longitude.values
    np.testing.assert_allclose(a[1][:, lon < 10.0195], 1.0, rtol=1e-6)
    np.testing.assert_allclose(a[1][:, lon > 10.0205], 2.0, rtol=1e-6)
    assert not np.isnan(a[1]).any()
    # one day only, and a day with nothing
    assert archive.query(BBOX, "2023-06-01", 0.001).sizes["time"] == 1
    assert archive.query(BBOX, "2023-06-02", 0.001).sizes["time"] == 0


def test_uint16_dn_storage_round_trip_and_nodata(tmp_path: Path) -> None:
    cube = make_cube(
        BBOX, 0.0002, DATES[:1], lambda x, y, k: np.rint(1000 + 20000 * (x - 10)) + 0 * y
    )
    cube.attrs["raster:bands"] = [
        {"name": "a", "data_type": "uint16", "scale": 0.0001, "offset": -0.1}
    ]
    cube[0, 0, :10] = np.nan
    archive = Archive(tmp_path / "a")
    archive.ingest(cube, encodings={"b": Encoding("float32")})
    assert archive.store.encoding("a").dtype == "uint16"
    assert archive.store.array("a").dtype == np.uint16
    assert archive.store.encoding("b").dtype == "float32"
    assert archive.store.band_attrs("a")["scale"] == 0.0001
    ds = archive.query(BBOX, DATES[0], 0.0002)
    a = ds["a"].values[0]
    assert np.isnan(a[:8]).all() and not np.isnan(a[12:-2, 2:-2]).any()
    np.testing.assert_array_equal(a, np.rint(a))  # whole DN
    src = cube.values[0, 0]
    assert np.nanmax(np.abs(a[12:] - src[12:])) <= 10.0  # a 25 m cell vs a 20 m pixel, 0.2 DN/m
    with pytest.raises(ValueError, match="uint16"):
        Archive(tmp_path / "b").ingest(cube * -1, encodings={"a": Encoding("uint16")})


def test_native_cells_to_grid_equals_direct_grid_query(tmp_path: Path) -> None:
    cube = make_cube(BBOX, 0.0002, DATES[:1], linear)
    archive = Archive(tmp_path / "a")
    archive.ingest(cube)
    box = (10.01, 45.01, 10.03, 45.02)
    cells = archive.query(box, DATES[0])
    assert cells.cell_ids.attrs["level"] == 18 and cells.cell_ids.attrs["ellipsoid"] == "WGS84"
    via_cells = archive.to_grid(cells, 0.0005, (10.012, 45.012, 10.028, 45.018))
    direct = archive.query((10.012, 45.012, 10.028, 45.018), DATES[0], 0.0005)
    np.testing.assert_array_equal(via_cells["a"].values, direct["a"].values)


def test_clip_writes_only_cells_centred_inside(tmp_path: Path) -> None:
    cube = make_cube(BBOX, 0.0002, DATES[:1], linear)
    archive = Archive(tmp_path / "a")
    clip = (10.01, 45.01, 10.03, 45.02)
    archive.ingest(cube, clip=clip)
    ds = archive.query(BBOX, DATES[0])
    lon, lat = ds.longitude.values, ds.latitude.values
    assert ((lon >= 10.01) & (lon < 10.03) & (lat >= 45.01) & (lat < 45.02)).all()
    assert ds.sizes["cells"] > 0.9 * (0.02 * 78_900 * 0.01 * 111_100) / 24.9**2

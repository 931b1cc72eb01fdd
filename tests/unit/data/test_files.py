"""Local-file collections read the real samples in ../shared/data exactly as rasterio/xarray do."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from odc.geo import geom
from rasterio.warp import Resampling, calculate_default_transform, reproject

from eostation.data.base import LoadRequest
from eostation.data.files import CollectionConfigError, FileCollection, file_collection
from eostation.data.registry import build_registry
from eostation.errors import ProcessParameterInvalid
from tests.conftest import shared_path
from tests.stac_check import assert_valid_collection

MOL_DATES = ["2023-06-01", "2023-06-04", "2023-06-06"]
DATE_FROM_NAME = {"regex": r"openEO_(?P<date>\d{4}-\d{2}-\d{2})Z", "format": "%Y-%m-%d"}
RGB = [
    {"name": "B04", "source": 1, "common_name": "red", "wavelength": 0.665},
    {"name": "B03", "source": 2, "common_name": "green", "wavelength": 0.56},
    {"name": "B02", "source": 3, "common_name": "blue", "wavelength": 0.49},
]


def _mol_dir() -> Path:
    return shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")


def _read(path: Path, window: Any = None) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(window=window).astype(np.float32)


@pytest.fixture(scope="module")
def mol() -> FileCollection:
    entry = {
        "id": "MOL",
        "paths": ["openEO_2023-06-0*Z.tif"],
        "date": DATE_FROM_NAME,
        "scale": 0.0001,
        "bands": RGB,
    }
    return file_collection(entry, _mol_dir())


def test_mol_full_load_equals_rasterio(mol: FileCollection) -> None:
    cube = mol.load(LoadRequest())
    assert cube.dims == ("t", "bands", "y", "x") and cube.dtype == np.float32
    assert isinstance(cube.data, da.Array) and cube.data.chunks[0] == (3,)  # dates together
    assert [str(t)[:10] for t in cube.t.values] == MOL_DATES
    assert list(cube.bands.values) == ["B04", "B03", "B02"]
    values = cube.values
    for i, day in enumerate(MOL_DATES):
        np.testing.assert_array_equal(values[i], _read(_mol_dir() / f"openEO_{day}Z.tif"))
    with rasterio.open(_mol_dir() / "openEO_2023-06-01Z.tif") as ds:
        assert cube.odc.geobox.affine == ds.transform and cube.odc.geobox.crs.epsg == 32631
    # Coordinates are pixel centres: half a pixel inside the top-left corner (644550, 5676350).
    assert cube.x.values[0] == 644555.0 and cube.y.values[0] == 5676345.0
    assert cube.y.values[-1] == 5676345.0 - 57 * 10
    assert cube.attrs["collection"] == "MOL" and np.isnan(cube.attrs["nodata"])
    assert cube.attrs["raster:bands"][0]["scale"] == 0.0001


def test_mol_bbox_in_file_crs_time_and_common_name(mol: FileCollection) -> None:
    request = LoadRequest(
        bbox=(644600, 5676000, 644700, 5676100),
        crs=32631,
        temporal=("2023-06-01", "2023-06-04"),  # half-open: 06-04 excluded
        bands=["blue", "B04"],
    )
    cube = mol.load(request)
    assert [str(t)[:10] for t in cube.t.values] == ["2023-06-01"]
    assert list(cube.bands.values) == ["B02", "B04"]
    # Columns (644600-644550)/10 = 5..15, rows (5676350-5676100)/10 = 25..35.
    window = rasterio.windows.Window(5, 25, 10, 10)
    ref = _read(_mol_dir() / "openEO_2023-06-01Z.tif", window)
    np.testing.assert_array_equal(cube.values[0], ref[[2, 0]])
    assert cube.x.values[0] == 644605.0 and cube.y.values[0] == 5676095.0


def test_mol_bbox_in_lonlat_gets_the_pixels_whose_centres_are_inside(mol: FileCollection) -> None:
    bbox = (5.072, 51.216, 5.076, 51.218)
    cube = mol.load(LoadRequest(bbox=bbox, bands=["B03"]))
    # The extent in the file's CRS; centres inside it, the next ones out on every side.
    w, s, e, n = geom.box(*bbox, 4326).to_crs(32631).boundingbox
    x, y = cube.x.values, cube.y.values
    assert w <= x[0] < x[-1] < e and s < y[-1] < y[0] <= n
    assert x[0] - 10 < w and x[-1] + 10 >= e and y[0] + 10 > n and y[-1] - 10 <= s
    col = int((x[0] - 644555.0) / 10)
    row = int((5676345.0 - y[0]) / 10)
    window = rasterio.windows.Window(col, row, cube.sizes["x"], cube.sizes["y"])
    ref = _read(_mol_dir() / "openEO_2023-06-06Z.tif", window)[1]
    np.testing.assert_array_equal(cube.values[2, 0], ref)


def test_mol_bbox_cutting_pixels_keeps_those_with_their_centre_inside(mol: FileCollection) -> None:
    # Edges 7 m into the outer pixels on every side: the centres 644605, 644695 (x) and
    # 5676095, 5676005 (y) are outside, so 8 × 8 pixels, not the 10 × 10 touched.
    bbox = (644607, 5676007, 644693, 5676093)
    cube = mol.load(LoadRequest(bbox=bbox, crs=32631, bands=["B04"]))
    assert cube.sizes["x"] == 8 and cube.sizes["y"] == 8
    assert cube.x.values[0] == 644615.0 and cube.y.values[0] == 5676085.0
    ref = _read(_mol_dir() / "openEO_2023-06-01Z.tif", rasterio.windows.Window(6, 26, 8, 8))
    np.testing.assert_array_equal(cube.values[0, 0], ref[0])
    # Smaller than a pixel: the pixel under the centre.
    one = mol.load(LoadRequest(bbox=(644601, 5676001, 644604, 5676004), crs=32631, bands=["B04"]))
    assert one.sizes["x"] == one.sizes["y"] == 1 and one.x.values[0] == 644605.0


def test_empty_request_names_parameter(mol: FileCollection) -> None:
    with pytest.raises(ProcessParameterInvalid, match="spatial_extent"):
        mol.load(LoadRequest(bbox=(10.0, 10.0, 11.0, 11.0)))
    with pytest.raises(ProcessParameterInvalid, match="bands"):
        mol.load(LoadRequest(bands=["B08"]))


def test_metadata_is_valid_stac_with_real_extents(mol: FileCollection) -> None:
    doc = mol.metadata()
    assert_valid_collection(doc)
    x, y = doc["cube:dimensions"]["x"], doc["cube:dimensions"]["y"]
    assert x["reference_system"] == 32631 and x["step"] == 10.0 and y["step"] == 10.0
    assert x["extent"] == [644550.0, 645280.0] and y["extent"] == [5675770.0, 5676350.0]
    w, s, e, n = doc["extent"]["spatial"]["bbox"][0]
    assert 5.069 < w < e < 5.081 and 51.214 < s < n < 51.221
    assert doc["extent"]["temporal"]["interval"] == [
        ["2023-06-01T00:00:00Z", "2023-06-06T00:00:00Z"]
    ]
    assert [b["common_name"] for b in doc["summaries"]["eo:bands"]] == ["red", "green", "blue"]
    assert doc["cube:dimensions"]["bands"]["values"] == ["B04", "B03", "B02"]


def _s1() -> Path:
    return shared_path(
        "data", "s1_grd_vv_pyrosar", "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"
    )


S1_DATE = {"regex": r"_(?P<date>\d{8}T\d{6})_", "format": "%Y%m%dT%H%M%S"}


def test_s1_db_values_and_nodata(tmp_path: Path) -> None:
    copy = tmp_path / _s1().name
    with rasterio.open(_s1()) as src:
        profile, data = src.profile, src.read()
    data[0, 10:20, 30:50] = -99.0  # the file's nodata
    with rasterio.open(copy, "w", **profile) as dst:
        dst.write(data)
    source = file_collection(
        {"id": "S1", "paths": "*.tif", "date": S1_DATE, "bands": [{"name": "VV", "unit": "dB"}]},
        tmp_path,
    )
    cube = source.load(LoadRequest())
    assert str(cube.t.values[0])[:10] == "2015-03-09"
    values = cube.values[0, 0]
    assert np.isnan(values[10:20, 30:50]).all() and np.isnan(values).sum() == 200
    expected = data[0].copy()
    expected[10:20, 30:50] = np.nan
    np.testing.assert_array_equal(values, expected)
    assert -27.0 < np.nanmin(values) < np.nanmax(values) < 1.5
    assert cube.odc.geobox.affine == profile["transform"]
    assert_valid_collection(source.metadata())


def test_mosaic_first_valid_pixel_of_same_date(tmp_path: Path) -> None:
    with rasterio.open(_s1()) as src:
        profile, data = src.profile, src.read()
    left = rasterio.windows.Window(0, 0, 150, 217)
    right = rasterio.windows.Window(120, 0, 148, 217)  # overlaps columns 120..150
    for name, window, bias in (("a", left, 0.0), ("b", right, 100.0)):
        with rasterio.open(src.name) as s:
            transform = s.window_transform(window)
        part = data[:, :, window.col_off : window.col_off + window.width] + bias
        prof = {**profile, "width": window.width, "transform": transform}
        with rasterio.open(tmp_path / f"{name}_20150309T173017_.tif", "w", **prof) as dst:
            dst.write(part)
    source = file_collection(
        {"id": "MOS", "paths": "*.tif", "date": S1_DATE, "bands": [{"name": "VV"}]}, tmp_path
    )
    cube = source.load(LoadRequest())
    assert cube.sizes == {"t": 1, "bands": 1, "y": 217, "x": 268}
    values = cube.values[0, 0]
    np.testing.assert_array_equal(values[:, :150], data[0, :, :150])  # file a wins the overlap
    np.testing.assert_array_equal(values[:, 150:], data[0, :, 150:] + 100.0)


def test_files_on_different_grids_are_reprojected(tmp_path: Path) -> None:
    shutil.copy(_mol_dir() / "openEO_2023-06-01Z.tif", tmp_path / "openEO_2023-06-01Z.tif")
    src_path = _mol_dir() / "openEO_2023-06-04Z.tif"
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds, resolution=8.0
        )
        profile = {**src.profile, "crs": "EPSG:3857", "transform": transform}
        profile.update(width=width, height=height, tiled=False)
        with rasterio.open(tmp_path / "openEO_2023-06-04Z.tif", "w", **profile) as dst:
            for b in (1, 2, 3):
                reproject(
                    rasterio.band(src, b), rasterio.band(dst, b), resampling=Resampling.nearest
                )
    source = file_collection(
        {"id": "MIX", "paths": "*.tif", "date": DATE_FROM_NAME, "bands": RGB}, tmp_path
    )
    assert source.metadata()["cube:dimensions"]["x"]["reference_system"] == 4326  # no shared grid
    cube = source.load(LoadRequest(bands=["B04"]))
    assert cube.odc.geobox.crs.epsg == 32631 and cube.odc.geobox.resolution.x == 10.0
    with rasterio.open(tmp_path / "openEO_2023-06-01Z.tif") as ds:
        xs = ds.transform.c + 5.0 + 10.0 * np.arange(ds.width)
        ys = ds.transform.f - 5.0 - 10.0 * np.arange(ds.height)
    # The UTM file keeps its own pixel lattice inside the (larger) common grid.
    on_first = cube.sel(x=xs, y=ys)
    first, second = on_first.values[:, 0]
    np.testing.assert_array_equal(first, _read(tmp_path / "openEO_2023-06-01Z.tif")[0])
    inner = (slice(3, -3), slice(3, -3))
    original = _read(src_path)[0][inner]
    # UTM -> Web Mercator -> UTM with nearest neighbour: almost every pixel comes back.
    assert np.mean(second[inner] == original) > 0.8


def test_s5p_swath_binned_to_regular_grid() -> None:
    path = next(shared_path("data", "s5p_ch4").glob("*.nc4"))
    entry = {
        "id": "CH4",
        "paths": str(path),
        "group": "PRODUCT",
        "date": {"coordinate": "time"},
        "swath": {"resolution": 0.05},
        "bands": [{"name": "CH4", "source": "methane_mixing_ratio_bias_corrected", "unit": "ppb"}],
    }
    source = file_collection(entry, Path("/"))
    cube = source.load(LoadRequest())
    assert str(cube.t.values[0])[:10] == "2022-07-22"
    gbox = cube.odc.geobox
    assert gbox.crs.epsg == 4326 and gbox.resolution.x == pytest.approx(0.05)
    assert cube.x.values[0] == pytest.approx(148.025) and cube.y.values[0] == pytest.approx(-22.025)
    # Independent binning with pandas.
    with xr.open_dataset(path, group="PRODUCT", engine="h5netcdf") as ds:
        lon = ds.longitude.values[0].ravel()
        lat = ds.latitude.values[0].ravel()
        ch4 = ds.methane_mixing_ratio_bias_corrected.values[0].ravel()
    ok = np.isfinite(ch4)
    frame = pd.DataFrame(
        {
            "col": np.floor((lon[ok] - 148.0) / 0.05).astype(int),
            "row": np.floor((-22.0 - lat[ok]) / 0.05).astype(int),
            "v": ch4[ok],
        }
    )
    means = frame.groupby(["row", "col"])["v"].mean()
    values = cube.values[0, 0]
    assert np.isfinite(values).sum() == len(means)
    for (row, col), mean in means.items():
        assert values[row, col] == pytest.approx(mean, rel=1e-5)
    assert 1700 < np.nanmean(values) < 1950
    assert_valid_collection(source.metadata())


def _zarr() -> Path:
    return shared_path("data", "s2_l2a_openeo_small", "s2_l2a_zarr_sample.zarr")


def test_zarr_time_coordinate_and_exact_values() -> None:
    entry = {
        "id": "ZARR",
        "paths": str(_zarr()),
        "date": {"coordinate": "t"},
        "bands": [{"name": "B04", "common_name": "red", "wavelength": 0.665}, {"name": "SCL"}],
    }
    source = file_collection(entry, Path("/"))
    ref = xr.open_zarr(_zarr())
    cube = source.load(LoadRequest())
    assert cube.sizes == {"t": 12, "bands": 2, "y": 10, "x": 10}
    np.testing.assert_array_equal(cube.t.values, ref.t.values)
    np.testing.assert_array_equal(cube.x.values, ref.x.values)
    np.testing.assert_array_equal(cube.y.values, ref.y.values)
    np.testing.assert_array_equal(cube.sel(bands="B04").values, ref.B04.values)
    np.testing.assert_array_equal(cube.sel(bands="SCL").values, ref.SCL.values)
    assert cube.odc.geobox.crs.epsg == 32632
    sub = source.load(
        LoadRequest(
            bbox=(675010, 5154900, 675040, 5154950), crs=32632, temporal=("2022-06-10", None)
        )
    )
    assert str(sub.t.values[0])[:10] >= "2022-06-10"
    np.testing.assert_array_equal(
        sub.sel(bands="B04").values, ref.B04.sel(t=sub.t.values).values[:, 1:6, 2:5]
    )
    doc = source.metadata()
    assert_valid_collection(doc)
    assert doc["cube:dimensions"]["x"]["reference_system"] == 32632
    assert doc["extent"]["temporal"]["interval"][0] == [
        "2022-06-02T00:00:00Z",
        "2022-06-30T00:00:00Z",
    ]


def test_collections_toml_registers_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "s2").mkdir()
    for day in MOL_DATES:
        shutil.copy(_mol_dir() / f"openEO_{day}Z.tif", tmp_path / "s2")
    (tmp_path / "collections.toml").write_text(
        """
[[collections]]
id = "MY_S2"
title = "Mol"
paths = ["s2/*.tif"]
date = { regex = 'openEO_(?P<date>\\d{4}-\\d{2}-\\d{2})Z', format = "%Y-%m-%d" }
bands = [{ name = "B04" }, { name = "B03" }, { name = "B02" }]
"""
    )
    registry = build_registry(tmp_path)
    assert "MY_S2" in registry and "SENTINEL2_L2A" in registry
    cube = registry.get("MY_S2").load(LoadRequest(bands=["B02"]))
    np.testing.assert_array_equal(
        cube.values[1, 0], _read(tmp_path / "s2" / "openEO_2023-06-04Z.tif")[2]
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"paths": []}, "paths"),
        ({"paths": "nothing-*.tif"}, "paths"),
        ({"date": {"regex": r"openEO_(\d+)"}}, "date.regex"),
        ({"date": {"regex": "x", "attribute": "y"}}, "date"),
        ({"bands": [{"name": "B04", "source": 7}]}, "bands.source"),
        ({"bands": [{"name": "B04"}, {"name": "B04"}]}, "bands"),
        ({"bands": [{"name": "B04", "nodata": "none"}]}, "bands[0].nodata"),
        ({"resampling": "magic"}, "resampling"),
        ({"crs": "EPSG:999999"}, "crs"),
    ],
)
def test_bad_config_names_collection_and_field(change: dict[str, Any], field: str) -> None:
    entry = {"id": "BAD", "paths": "openEO_*.tif", "date": DATE_FROM_NAME, "bands": RGB, **change}
    with pytest.raises(CollectionConfigError) as err:
        file_collection(entry, _mol_dir())
    assert err.value.collection == "BAD" and err.value.field == field
    assert "'BAD'" in str(err.value) and f"'{field}'" in str(err.value)


def test_unknown_type_in_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "collections.toml").write_text('[[collections]]\nid = "X"\ntype = "ftp"\n')
    with pytest.raises(CollectionConfigError, match=r"'X'.*'type'"):
        build_registry(tmp_path)

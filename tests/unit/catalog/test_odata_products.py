"""Product entities from STAC items, and product zips that the usual readers open."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from eostation.catalog.odata.entity import PackageInfo, product_entity, product_id
from eostation.catalog.odata.package import ProductPackages
from eostation.catalog.odata.package.olci import RADIANCE_SCALE
from eostation.catalog.odata.package.syn import REFLECTANCE_SCALE
from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from tests.odata_support import extract_zip

ARCTIC = {
    "type": "Polygon",
    "coordinates": [[[-81.7, 71.7], [-75.1, 71.7], [-75.1, 73.8], [-81.7, 73.8], [-81.7, 71.7]]],
}
S3_ID = (
    "S3A_OL_1_EFR____20180601T151419_20180601T151719_20180601T171419_0180_032_020_0118_PS1_O_NT_002"
)
S5P_ID = "S5P_OFFL_L2__ALL____20180601T003000_20180601T233000_03272_02_020600_20180603T003000"


def s3_item() -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": S3_ID,
        "collection": "sentinel-3-olci-1-efr",
        "geometry": ARCTIC,
        "properties": {
            "datetime": "2018-06-01T15:15:49Z",
            "start_datetime": "2018-06-01T15:14:19Z",
            "end_datetime": "2018-06-01T15:17:19Z",
            "published": "2018-06-01T18:15:49Z",
            "platform": "sentinel-3a",
            "constellation": "sentinel-3",
            "instruments": ["olci"],
            "product:type": "OL_1_EFR___",
            "processing:level": "L1",
            "sat:relative_orbit": 20,
            "eostation:collection": "SENTINEL3_OLCI_L1B",
        },
    }


def s5p_item() -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": S5P_ID,
        "collection": "sentinel-5p-l2",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[30, 40], [32, 40], [32, 42], [30, 42], [30, 40]]],
        },
        "properties": {
            "datetime": "2018-06-01T00:30:00Z",
            "start_datetime": "2018-06-01T00:30:00Z",
            "end_datetime": "2018-06-01T23:30:00Z",
            "product:type": "L2__ALL___",
            "eostation:collection": "SENTINEL_5P_L2",
        },
    }


def test_entity_fields_as_on_cdse() -> None:
    entity = product_entity(s3_item(), PackageInfo(1234), expand=["Attributes"])
    assert entity["Id"] == product_id("sentinel-3-olci-1-efr", S3_ID)
    assert entity["Name"] == S3_ID + ".SEN3"
    assert entity["ContentLength"] == 1234 and entity["Checksum"] == []
    assert entity["ContentDate"] == {
        "Start": "2018-06-01T15:14:19.000Z",
        "End": "2018-06-01T15:17:19.000Z",
    }
    assert entity["PublicationDate"] == "2018-06-01T18:15:49.000Z"
    assert entity["Footprint"].startswith("geography'SRID=4326;POLYGON ((-81.7 71.7, ")
    assert entity["GeoFootprint"] == ARCTIC
    assert entity["S3Path"] == f"/eodata/Sentinel-3/OL_1_EFR/2018/06/01/{S3_ID}.SEN3"
    attrs = {a["Name"]: (a["Value"], a["ValueType"]) for a in entity["Attributes"]}
    assert attrs["productType"] == ("OL_1_EFR___", "String")
    assert attrs["platformShortName"] == ("SENTINEL-3", "String")
    assert attrs["platformSerialIdentifier"] == ("A", "String")
    assert attrs["instrumentShortName"] == ("OLCI", "String")
    assert attrs["relativeOrbitNumber"] == (20, "Integer")
    assert attrs["beginningDateTime"] == ("2018-06-01T15:14:19.000Z", "DateTimeOffset")


def test_select_and_checksums() -> None:
    info = PackageInfo(10, "a" * 32, "b" * 64, "2026-01-01T00:00:00.000Z")
    entity = product_entity(s3_item(), info, select=["Name", "Checksum"])
    assert set(entity) == {"@odata.mediaContentType", "Name", "Checksum"}
    assert [c["Algorithm"] for c in entity["Checksum"]] == ["MD5", "BLAKE3"]


def test_s3_olci_zip_opens_in_xarray_and_matches_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = s3_item()
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced  # ContentLength was right before the build
    info = packages.info(item)
    assert info.md5 and info.blake3 and info.content_length == announced
    root = extract_zip(path, tmp_path) / f"{S3_ID}.SEN3"
    assert {p.name for p in root.iterdir()} >= {
        "xfdumanifest.xml",
        "geo_coordinates.nc",
        "time_coordinates.nc",
        *(f"Oa{i:02d}_radiance.nc" for i in range(1, 22)),
    }
    geo = xr.open_dataset(root / "geo_coordinates.nc")
    rad = xr.open_dataset(root / "Oa17_radiance.nc")["Oa17_radiance"]
    lat, lon = geo["latitude"].values, geo["longitude"].values
    assert rad.shape == lat.shape == (24, 24)
    assert np.all(np.diff(lat[:, 0]) < 0) and np.all(np.diff(lon[0]) > 0)  # north-up rows
    source = build_registry(None).get("SENTINEL3_OLCI_L1B")
    step = 1 / 360
    cube = source.load(
        LoadRequest(
            bbox=(
                lon.min() - step / 4,
                lat.min() - step / 4,
                lon.max() + step / 4,
                lat.max() + step / 4,
            ),
            temporal=("2018-06-01", "2018-06-02"),
            bands=["B17"],
        )
    ).compute()
    expected = cube.isel(t=0, bands=0).values
    assert expected.shape == rad.shape
    np.testing.assert_allclose(cube["y"].values, lat[:, 0], atol=1e-6)
    np.testing.assert_allclose(cube["x"].values, lon[0], atol=1e-6)
    assert np.isfinite(expected).mean() > 0.5
    ok = np.isfinite(expected)
    assert np.array_equal(ok, np.isfinite(rad.values))
    assert float(np.max(np.abs(rad.values[ok] - expected[ok]))) <= RADIANCE_SCALE / 2 + 1e-4
    assert 10 < float(np.nanmean(rad.values)) < 300  # a plausible NIR TOA radiance


def test_s5p_zip_opens_product_group_and_matches_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = s5p_item()
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced
    extracted = extract_zip(path, tmp_path)
    assert [p.name for p in extracted.iterdir()] == [S5P_ID + ".nc"]
    ds = xr.open_dataset(extracted / f"{S5P_ID}.nc", group="PRODUCT")
    assert set(ds.data_vars) >= {
        "methane_mixing_ratio",
        "carbonmonoxide_total_column",
        "nitrogendioxide_tropospheric_column",
        "ozone_total_vertical_column",
    }
    lat, lon = ds["latitude"].values[0], ds["longitude"].values[0]
    cube = (
        build_registry(None)
        .get("SENTINEL_5P_L2")
        .load(
            LoadRequest(
                bbox=(lon.min() - 0.001, lat.min() - 0.001, lon.max() + 0.001, lat.max() + 0.001),
                temporal=("2018-06-01", "2018-06-02"),
                bands=["CH4", "CO", "NO2", "O3"],
            )
        )
        .compute()
    )
    got = ds["methane_mixing_ratio"].values[0]
    expected = cube.sel(bands="CH4").isel(t=0).values
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[~np.isnan(got)], expected[~np.isnan(expected)])
    no2 = ds["nitrogendioxide_tropospheric_column"].values[0]
    np.testing.assert_array_equal(no2, cube.sel(bands="NO2").isel(t=0).values)
    assert 1800 < float(np.nanmean(got)) < 1950  # ppb


def test_a_second_download_is_the_cached_file(packages: ProductPackages) -> None:
    item = s5p_item()
    first = packages.path(item)
    stamp = first.stat().st_mtime_ns
    assert packages.path(item).stat().st_mtime_ns == stamp


def test_files_products_are_zips_of_their_files_rebuilt_when_a_file_changes(
    tmp_path: Path,
) -> None:
    data = tmp_path / "files"
    data.mkdir()
    (data / "a.tif").write_bytes(b"x" * 5000)
    (data / "bé.nc").write_bytes(b"y" * 123)
    item = {"id": "survey", "collection": "my_files", "properties": {}}
    files = {"survey": [("a.tif", data / "a.tif"), ("sub/bé.nc", data / "bé.nc")]}
    packages = ProductPackages(
        build_registry(None), tmp_path / "cache", 16, lambda i: files.get(str(i["id"]))
    )
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced
    with zipfile.ZipFile(path) as zf:
        assert zf.read("a.tif") == b"x" * 5000 and zf.read("sub/bé.nc") == b"y" * 123
    (data / "a.tif").write_bytes(b"z" * 7000)  # the file changes: a new zip, a new size
    assert packages.info(item).md5 is None
    assert packages.info(item).content_length == announced + 2000
    with zipfile.ZipFile(packages.path(item)) as zf:
        assert zf.read("a.tif") == b"z" * 7000
    assert packages.info({"id": "gone", "collection": "my_files"}).content_length == 0


def test_s1_grd_safe_has_gcp_located_measurements_that_calibrate_to_sigma0(
    packages: ProductPackages, tmp_path: Path
) -> None:
    import datetime as dt

    import rasterio
    import shapely

    from eostation.catalog.odata.package.s1 import SIGMA_NOUGHT
    from eostation.catalog.query import ItemQuery
    from eostation.catalog.service import CatalogService
    from eostation.catalog.sqlite import SqliteItemIndex

    registry = build_registry(None)
    catalog = CatalogService(registry.all(), SqliteItemIndex(tmp_path / "items.db"))
    [item] = catalog.search(
        ItemQuery(
            collections=("sentinel-1-grd",),
            intersects=shapely.Point(4.52, 43.59),
            datetime=(
                dt.datetime(2022, 6, 1, tzinfo=dt.UTC),
                dt.datetime(2022, 6, 15, tzinfo=dt.UTC),
            ),
            limit=1,
        )
    ).items
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced
    root = extract_zip(path, tmp_path / "x") / f"{item['id']}.SAFE"
    assert (root / "manifest.safe").is_file()
    [vv] = (root / "measurement").glob("s1?-iw-grd-vv-*-001.tiff")
    assert len(list((root / "annotation" / "calibration").glob("calibration-*.xml"))) == 2
    with rasterio.open(vv) as src:
        dn = src.read(1).astype(np.float64)
        gcps, crs = src.gcps
        assert crs.to_epsg() == 4326 and len(gcps) == 121 and src.transform.is_identity
    plan = packages.plan(item)
    assert plan is not None
    day = np.datetime64(plan.day)
    cube = (
        registry.get("SENTINEL1_GRD")
        .load(LoadRequest(bbox=plan.bbox, temporal=(plan.day, str(day + 1)), bands=["VV"]))
        .compute()
    )
    sigma0 = cube.isel(t=0, bands=0).values
    assert sigma0.shape == dn.shape
    # the GCP at the first pixel centre is where load_collection puts that pixel
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(cube.odc.crs, 4326, always_xy=True).transform(
        float(cube["x"][0]), float(cube["y"][0])
    )
    assert (gcps[0].row, gcps[0].col) == (0.5, 0.5)
    assert abs(gcps[0].x - lon) < 1e-9 and abs(gcps[0].y - lat) < 1e-9
    calibrated = dn**2 / SIGMA_NOUGHT**2
    ok = np.isfinite(sigma0)
    assert ok.mean() > 0.9
    # within one count: |√σ⁰·K − DN| ≤ 0.5
    assert float(np.max(np.abs(np.sqrt(sigma0[ok]) * SIGMA_NOUGHT - dn[ok]))) <= 0.5 + 1e-6
    # relative error of that count: under 5 % from 20 counts up (dark sea has fewer)
    bright = ok & (dn >= 20)
    assert bright.mean() > 0.3
    assert float(np.max(np.abs(calibrated[bright] - sigma0[bright]) / sigma0[bright])) < 0.05


def test_s2_safe_opens_with_gdals_sentinel2_driver_with_load_collections_dn(
    packages: ProductPackages, tmp_path: Path
) -> None:
    import datetime as dt

    import rasterio
    import shapely

    from eostation.catalog.query import ItemQuery
    from eostation.catalog.service import CatalogService
    from eostation.catalog.sqlite import SqliteItemIndex

    registry = build_registry(None)
    catalog = CatalogService(registry.all(), SqliteItemIndex(tmp_path / "items.db"))
    [item] = catalog.search(
        ItemQuery(
            collections=("sentinel-2-l2a",),
            intersects=shapely.box(11.2, 46.4, 11.4, 46.6),
            datetime=(
                dt.datetime(2022, 6, 1, tzinfo=dt.UTC),
                dt.datetime(2022, 6, 30, tzinfo=dt.UTC),
            ),
            limit=1,
        )
    ).items
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced  # JPEG 2000 files padded to a size fixed by shape
    mtd = extract_zip(path, tmp_path / "x") / f"{item['id']}.SAFE" / "MTD_MSIL2A.xml"
    plan = packages.plan(item)
    assert plan is not None
    side, epsg, ulx, uly = (plan.extra[k] for k in ("side", "epsg", "ulx", "uly"))
    assert side == 24  # the packages fixture limits products to 24 pixels
    with rasterio.open(mtd) as ds:
        assert ds.driver == "SENTINEL2" and len(ds.subdatasets) >= 3
    with rasterio.open(f"SENTINEL2_L2A:{mtd}:10m:EPSG_{epsg}") as ds:
        assert ds.shape == (side, side) and ds.crs.to_epsg() == epsg
        assert (ds.transform.c, ds.transform.f, ds.transform.a) == (ulx, uly, 10.0)
        assert ds.descriptions[0].startswith("B4")
        b04 = ds.read(1).astype(np.float64)
    with rasterio.open(f"SENTINEL2_L2A:{mtd}:20m:EPSG_{epsg}") as ds:
        assert ds.shape == (side // 2, side // 2)
    day = np.datetime64(plan.day)
    cube = (
        registry.get("SENTINEL2_L2A")
        .load(
            LoadRequest(
                bbox=(ulx, uly - 10 * side, ulx + 10 * side, uly),
                crs=epsg,
                temporal=(plan.day, str(day + 1)),
                bands=["B04"],
            )
        )
        .compute()
    )
    centres = {"x": ulx + 5 + 10 * np.arange(side), "y": uly - 5 - 10 * np.arange(side)}
    expected = cube.isel(t=0, bands=0).sel(**centres).values
    assert np.isfinite(expected).all() and (b04 > 0).all()
    # a real baseline-04.00 product's DN: load_collection's harmonised DN + 1000, exactly
    assert plan.name.split("_")[3] == "N0400"
    np.testing.assert_array_equal(b04, expected + 1000)
    text = mtd.read_text(encoding="utf-8")
    assert "<PROCESSING_BASELINE>04.00</PROCESSING_BASELINE>" in text
    assert text.count("-1000</BOA_ADD_OFFSET>") == 13


SYN_ID = (
    "S3A_SY_2_SYN____20180601T151419_20180601T151719_20180601T171419_0180_032_020_0118_LN2_O_NT_002"
)


def test_s3_syn_zip_opens_in_xarray_and_matches_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = s3_item()
    item["id"] = SYN_ID
    item["collection"] = "sentinel-3-syn-2-syn"
    item["properties"].update({"product:type": "SY_2_SYN___", "processing:level": "L2",
                               "instruments": ["olci", "slstr"],
                               "eostation:collection": "SENTINEL3_SYN_L2_SYN"})  # fmt: skip
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced  # ContentLength was right before the build
    root = extract_zip(path, tmp_path) / f"{SYN_ID}.SEN3"
    assert {p.name for p in root.iterdir()} == {
        "xfdumanifest.xml", "geolocation.nc", "time.nc", "flags.nc",
        *(f"Syn_Oa{i:02d}_reflectance.nc" for i in (*range(1, 13), 16, 17, 18, 21)),
    }  # fmt: skip
    assert (
        "<sentinel3:productType>SY_2_SYN___</sentinel3:productType>"
        in (root / "xfdumanifest.xml").read_text()
    )
    geo = xr.open_dataset(root / "geolocation.nc")
    sdr = xr.open_dataset(root / "Syn_Oa17_reflectance.nc")["SDR_Oa17"]
    flags = xr.open_dataset(root / "flags.nc")["CLOUD_flags"]
    lat, lon = geo["lat"].values, geo["lon"].values
    assert sdr.shape == lat.shape == flags.shape and sdr.shape[0] > 4
    source = build_registry(None).get("SENTINEL3_SYN_L2_SYN")
    half = float(source.metadata()["cube:dimensions"]["x"]["step"]) / 4
    cube = source.load(
        LoadRequest(
            bbox=(lon.min() - half, lat.min() - half, lon.max() + half, lat.max() + half),
            temporal=("2018-06-01", "2018-06-02"),
            bands=["Syn_Oa17_reflectance", "CLOUD_flags"],
        )
    ).compute()
    expected = cube.sel(bands="Syn_Oa17_reflectance").isel(t=0).values
    assert expected.shape == sdr.shape
    np.testing.assert_allclose(cube["y"].values, lat[:, 0], atol=1e-6)
    np.testing.assert_allclose(cube["x"].values, lon[0], atol=1e-6)
    ok = np.isfinite(expected)
    assert ok.mean() > 0.5 and np.array_equal(ok, np.isfinite(sdr.values))
    assert float(np.max(np.abs(sdr.values[ok] - expected[ok]))) <= REFLECTANCE_SCALE / 2 + 1e-6
    assert 0.0 < float(np.nanmean(sdr.values)) < 1.0  # a surface reflectance
    want_flags = np.nan_to_num(cube.sel(bands="CLOUD_flags").isel(t=0).values).astype("u1")
    np.testing.assert_array_equal(flags.values, want_flags)

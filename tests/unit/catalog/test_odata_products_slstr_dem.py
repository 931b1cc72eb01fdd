"""SLSTR RBT and Copernicus DEM product zips, opened by the usual readers and compared with
``load_collection`` on the same pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr

from eostation.catalog.odata.package import ProductPackages
from eostation.catalog.odata.package.lst import LST_BANDS, LST_OFFSET, LST_SCALE
from eostation.catalog.odata.package.slstr import BT_SCALE, RADIANCE_SCALE
from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from tests.odata_support import extract_zip

SLSTR_ID = (
    "S3A_SL_1_RBT____20180601T151419_20180601T151719_20180601T171419_0180_032_020_0118_LN2_O_NT_004"
)
#: A mid-latitude frame in June: sunlit, land and sea.
EUROPE = {
    "type": "Polygon",
    "coordinates": [[[4.0, 45.0], [9.0, 45.0], [9.0, 50.0], [4.0, 50.0], [4.0, 45.0]]],
}


def slstr_item() -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": SLSTR_ID,
        "collection": "sentinel-3-sl-1-rbt",
        "geometry": EUROPE,
        "properties": {
            "datetime": "2018-06-01T10:15:49Z",
            "start_datetime": "2018-06-01T10:14:19Z",
            "end_datetime": "2018-06-01T10:17:19Z",
            "platform": "sentinel-3a",
            "instruments": ["slstr"],
            "product:type": "SL_1_RBT___",
            "processing:level": "L1",
            "eostation:collection": "SENTINEL3_SLSTR",
        },
    }


def _built(packages: ProductPackages, item: dict[str, Any], into: Path) -> Path:
    """Build the item's zip, check its announced size, unzip it into ``into``."""
    announced = packages.info(item).content_length
    path = packages.path(item)
    assert path.stat().st_size == announced  # ContentLength was right before the build
    return extract_zip(path, into)


def _load(collection: str, lat: np.ndarray, lon: np.ndarray, bands: list[str]) -> xr.DataArray:
    """``load_collection`` over the pixel centres given (a quarter pixel of margin)."""
    source = build_registry(None).get(collection)
    q = abs(float(lat[1, 0] - lat[0, 0])) / 4
    bbox = (lon.min() - q, lat.min() - q, lon.max() + q, lat.max() + q)
    request = LoadRequest(bbox=bbox, temporal=("2018-06-01", "2018-06-02"), bands=bands)
    cube = source.load(request).compute()
    np.testing.assert_allclose(cube["y"].values, lat[:, 0], atol=1e-6)
    np.testing.assert_allclose(cube["x"].values, lon[0], atol=1e-6)
    return cube


def test_slstr_rbt_zip_opens_in_xarray_and_matches_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = slstr_item()
    root = _built(packages, item, tmp_path) / f"{SLSTR_ID}.SEN3"
    assert {p.name for p in root.iterdir()} == {
        "xfdumanifest.xml", "geodetic_an.nc", "geodetic_in.nc", "geodetic_fn.nc",
        "time_an.nc", "time_in.nc", "geometry_tn.nc",
        *(f"S{n}_radiance_an.nc" for n in range(1, 7)),
        *(f"S{n}_quality_an.nc" for n in range(1, 7)),
        "S7_BT_in.nc", "S8_BT_in.nc", "S9_BT_in.nc", "F2_BT_in.nc", "F1_BT_fn.nc",
    }  # fmt: skip
    manifest = (root / "xfdumanifest.xml").read_text()
    assert "<sentinel3:productType>SL_1_RBT___</sentinel3:productType>" in manifest
    assert 'version="esa/safe/sentinel/sentinel-3/slstr/level-1"' in manifest

    # Solar band: radiance on the 500 m grid, back to reflectance with E0 and θs.
    geo = xr.open_dataset(root / "geodetic_an.nc")
    lat, lon = geo["latitude_an"].values, geo["longitude_an"].values
    radiance = xr.open_dataset(root / "S3_radiance_an.nc")["S3_radiance_an"]
    assert radiance.attrs["units"] == "mW.m-2.sr-1.nm-1"
    e0 = xr.open_dataset(root / "S3_quality_an.nc")["S3_solar_irradiance_an"].values
    sza = xr.open_dataset(root / "geometry_tn.nc")["solar_zenith_tn"].values
    assert radiance.shape == lat.shape == sza.shape == (24, 24)
    assert np.all(np.diff(lat[:, 0]) < 0) and abs(float(lon[0, 1] - lon[0, 0]) - 1 / 240) < 1e-6
    assert 20 < float(np.mean(sza)) < 40  # 47° N, June, 10:00 local time
    reflectance = math.pi * radiance.values / (float(e0[0]) * np.cos(np.radians(sza)))
    expected = _load("SENTINEL3_SLSTR", lat, lon, ["S3"]).isel(t=0, bands=0).values
    ok = np.isfinite(expected)
    assert ok.mean() > 0.5 and np.array_equal(ok, np.isfinite(reflectance))
    tolerance = math.pi * (RADIANCE_SCALE / 2) / (float(e0[0]) * np.cos(np.radians(sza)))
    assert np.all(np.abs(reflectance - expected)[ok] <= tolerance[ok] + 1e-6)
    assert 0.02 < float(np.nanmean(reflectance)) < 1.0

    # Thermal band: brightness temperature in K on the 1 km grid (12 × 12 here).
    geo_in = xr.open_dataset(root / "geodetic_in.nc")
    lat_in, lon_in = geo_in["latitude_in"].values, geo_in["longitude_in"].values
    bt = xr.open_dataset(root / "S8_BT_in.nc")["S8_BT_in"]
    assert bt.attrs["units"] == "K" and bt.shape == lat_in.shape
    assert abs(float(lat_in[0, 0] - lat_in[1, 0]) - 1 / 120) < 1e-6
    expected_bt = _load("SENTINEL3_SLSTR", lat_in, lon_in, ["S8"]).isel(t=0, bands=0).values
    ok = np.isfinite(expected_bt)
    assert ok.mean() > 0.5 and np.array_equal(ok, np.isfinite(bt.values))
    assert float(np.max(np.abs(bt.values[ok] - expected_bt[ok]))) <= BT_SCALE / 2 + 1e-4
    assert 240 < float(np.nanmean(bt.values)) < 330
    fire = xr.open_dataset(root / "F1_BT_fn.nc")["F1_BT_fn"]
    expected_f1 = _load("SENTINEL3_SLSTR", lat_in, lon_in, ["F1"]).isel(t=0, bands=0).values
    np.testing.assert_allclose(fire.values, expected_f1, atol=BT_SCALE / 2 + 1e-4)


DEM_ID = "Copernicus_DSM_COG_10_N46_00_E007_00_DEM"
#: CDSE's name of the DGED product holding that tile (dates and code derived from the tile).
DEM_NAME = "DEM1_SAR_DGE_30_20110524T013519_20130107T021758_ADS_000000_uqyy.DEM"


def dem_item() -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": DEM_ID,
        "collection": "cop-dem-glo-30-dged-cog",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[7.0, 46.0], [8.0, 46.0], [8.0, 47.0], [7.0, 47.0], [7.0, 46.0]]],
        },
        "properties": {
            "datetime": "2011-01-01T00:00:00Z",
            "product:type": "DGE_30",
            "eostation:collection": "COPERNICUS_30",
        },
    }


def test_dem_tile_zip_is_a_geotiff_equal_to_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = dem_item()
    root = _built(packages, item, tmp_path) / DEM_NAME
    tile = "Copernicus_DSM_10_N46_00_E007_00"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        f"{tile}/DEM/{tile}_DEM.tif"
    ]
    with rasterio.open(root / tile / "DEM" / f"{tile}_DEM.tif") as src:
        assert src.crs.to_epsg() == 4326 and src.nodata == -32767.0
        assert src.shape == (24, 24) and src.dtypes == ("float32",)
        assert abs(src.res[0] - 1 / 3600) < 1e-12 and abs(src.res[1] - 1 / 3600) < 1e-12
        heights = src.read(1)
        # Pixel centres of the file, as the grid load_collection must land on.
        cols, rows = np.arange(src.width) + 0.5, np.arange(src.height) + 0.5
        lon = np.broadcast_to((src.transform * (cols, np.zeros_like(cols)))[0], src.shape)
        lat = np.broadcast_to((src.transform * (np.zeros_like(rows), rows))[1][:, None], src.shape)
    # Centred in the 1° tile, as the window is (24 pixels around 46.5° N, 7.5° E).
    assert abs(float(lat.mean()) - 46.5) < 1e-3 and abs(float(lon.mean()) - 7.5) < 1e-3
    cube = _load("COPERNICUS_30", lat, lon, ["DEM"])
    np.testing.assert_array_equal(heights, cube.isel(t=0, bands=0).values)
    assert float(heights.min()) > 100  # Alpine terrain, not the sea's 0 m


LST_ID = (
    "S3A_SL_2_LST____20180601T151419_20180601T151719_20180601T171419_0180_032_020_0118_LN2_O_NT_004"
)


def test_slstr_lst_zip_opens_in_xarray_and_matches_load_collection(
    packages: ProductPackages, tmp_path: Path
) -> None:
    item = slstr_item()
    item["id"], item["collection"] = LST_ID, "sentinel-3-sl-2-lst"
    item["properties"].update(
        {"product:type": "SL_2_LST___", "eostation:collection": "SENTINEL3_SLSTR_L2_LST"}
    )
    root = _built(packages, item, tmp_path) / f"{LST_ID}.SEN3"
    assert {p.name for p in root.iterdir()} == {
        "xfdumanifest.xml", "LST_in.nc", "flags_in.nc", "geodetic_in.nc", "time_in.nc",
    }  # fmt: skip
    assert "<sentinel3:productType>SL_2_LST___<" in (root / "xfdumanifest.xml").read_text()
    geo = xr.open_dataset(root / "geodetic_in.nc")
    lat, lon = geo["latitude_in"].values, geo["longitude_in"].values
    assert lat.shape == (24, 24) and abs(float(lat[0, 0] - lat[1, 0]) - 1 / 120) < 1e-6
    lst_file = xr.open_dataset(root / "LST_in.nc")
    raw = xr.open_dataset(root / "LST_in.nc", mask_and_scale=False)["LST"]
    assert raw.dtype == np.int16 and raw.attrs["scale_factor"] == LST_SCALE
    assert raw.attrs["add_offset"] == LST_OFFSET and raw.attrs["_FillValue"] == -32768
    lst, sigma = lst_file["LST"], lst_file["LST_uncertainty"]
    assert lst.attrs["units"] == "K" and lst.shape == lat.shape
    expected = _load("SENTINEL3_SLSTR_L2_LST", lat, lon, LST_BANDS).isel(t=0)
    want = expected.sel(bands="LST").values
    land = np.isfinite(want)
    # Land and sea in this window (the Ligurian coast): fill exactly where the demo has no LST.
    assert 0.2 < land.mean() < 1.0 or land.all()
    assert np.array_equal(land, np.isfinite(lst.values))
    assert float(np.max(np.abs(lst.values[land] - want[land]))) <= LST_SCALE / 2 + 1e-4
    assert 250 < float(np.nanmean(lst.values)) < 330
    np.testing.assert_allclose(
        sigma.values[land], expected.sel(bands="LST_uncertainty").values[land], atol=6e-4
    )
    flags = xr.open_dataset(root / "flags_in.nc")["confidence_in"]
    assert flags.dtype == np.uint16 and "summary_cloud" in flags.attrs["flag_meanings"]
    np.testing.assert_array_equal(flags.values, expected.sel(bands="confidence_in").values)
    np.testing.assert_array_equal(
        lst_file["exception"].values, expected.sel(bands="exception").values
    )
    # The same pixels in SENTINEL3_SLSTR: LST is the S8 brightness temperature over land.
    s8 = _load("SENTINEL3_SLSTR", lat, lon, ["S8"]).isel(t=0, bands=0).values
    assert float(np.max(np.abs(lst.values[land] - s8[land]))) <= LST_SCALE / 2 + 1e-4

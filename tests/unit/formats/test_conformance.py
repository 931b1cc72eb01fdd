"""Every output format passes :class:`~tests.unit.formats.conformance.WriterTests`."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from PIL import Image
from pyproj import CRS

from eostation.formats.output import OutputFile

from .conformance import ReadBack, WriterTests
from .conftest import raster, vector


def _raster_with_nodata() -> xr.DataArray:
    cube = raster(dates=2)
    cube[0, 1, 2, 3] = np.nan
    return cube


class _GeoTiffTests(WriterTests):
    epsg = 32633

    @pytest.fixture
    def cube(self) -> xr.DataArray:
        return _raster_with_nodata()

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        dates, bands, epsgs = [], set(), set()
        for f in sorted(files, key=lambda f: f.name):  # one file per date
            with rasterio.open(f.path) as ds:
                values = ds.read(masked=True).astype("float64").filled(np.nan)
                bands.add(ds.descriptions)
                epsgs.add(ds.crs.to_epsg())
            dates.append(values)
        [names], [epsg] = bands, epsgs
        return ReadBack(np.stack(dates), list(names), epsg)


class TestGTiff(_GeoTiffTests):
    format_name = "GTiff"


class TestCOG(_GeoTiffTests):
    format_name = "COG"


class TestGTiffWithNodataValue(_GeoTiffTests):
    format_name = "GTiff"
    options = {"nodata": -9999}  # noqa: RUF012


class _CFTests(WriterTests):
    epsg = 32633

    @pytest.fixture
    def cube(self) -> xr.DataArray:
        return _raster_with_nodata()

    def open(self, path: Path) -> xr.Dataset:
        raise NotImplementedError

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        [f] = files
        with self.open(f.path) as ds:
            names = [str(v) for v in ds.data_vars if v != "crs"]
            values = np.stack([ds[n].transpose("t", "y", "x").values for n in names], axis=1)
            epsg = CRS.from_wkt(ds["crs"].attrs["crs_wkt"]).to_epsg()
        return ReadBack(values.astype("float64"), names, epsg)


class TestNetCDF(_CFTests):
    format_name = "netCDF"

    def open(self, path: Path) -> xr.Dataset:
        return xr.open_dataset(path, engine="h5netcdf")


class TestZarr(_CFTests):
    format_name = "Zarr"

    def open(self, path: Path) -> xr.Dataset:
        return xr.open_zarr(path, consolidated=True)


class TestJSON(WriterTests):
    format_name = "JSON"
    epsg = 32633

    @pytest.fixture
    def cube(self) -> xr.DataArray:
        return _raster_with_nodata()

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        [f] = files
        back = xr.DataArray.from_dict(json.loads(f.path.read_text()))
        values = np.array(back.values.tolist(), dtype="float64")  # null -> NaN
        epsg = CRS.from_user_input(back.attrs["crs"]).to_epsg()
        return ReadBack(values, [str(b) for b in back["bands"].values], epsg)


class _TableTests(WriterTests):
    @pytest.fixture
    def cube(self) -> xr.DataArray:
        return vector()  # (t, geometries, bands), one NaN

    def table(self, path: Path) -> pd.DataFrame:
        raise NotImplementedError

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        [f] = files
        df = self.table(f.path)
        names = [
            c for c in df.columns if c not in ("feature_index", "feature_id", "date", "geometry")
        ]
        df = df.sort_values(["date", "feature_index"])
        nt, ng = df["date"].nunique(), df["feature_index"].nunique()
        values = df[names].to_numpy(dtype="float64").reshape(nt, ng, len(names))
        crs = getattr(df, "crs", None)
        return ReadBack(values, names, crs.to_epsg() if crs is not None else None)


class TestCSV(_TableTests):
    format_name = "CSV"

    def table(self, path: Path) -> pd.DataFrame:
        return pd.read_csv(path)


class TestGeoParquet(_TableTests):
    format_name = "GeoParquet"
    epsg = 4326

    def table(self, path: Path) -> pd.DataFrame:
        return gpd.read_parquet(path)


class TestPNG(WriterTests):
    format_name = "PNG"
    options = {"min": 0, "max": 47}  # noqa: RUF012
    has_band_names = False

    @pytest.fixture
    def cube(self) -> xr.DataArray:
        cube = raster(dates=None, bands=None)  # 10*row + col: 0 .. 47
        cube[1, 1] = np.nan
        return cube

    def expected_values(self, cube: xr.DataArray) -> np.ndarray:
        return np.round(np.asarray(cube.values, dtype="float64") / 47 * 255)

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        [f] = files
        with Image.open(f.path) as im:
            assert im.mode == "LA"  # grey + alpha: transparent where nodata
            px = np.asarray(im).astype("float64")
        values = np.where(px[..., 1] == 0, np.nan, px[..., 0])
        return ReadBack(values, None, None)

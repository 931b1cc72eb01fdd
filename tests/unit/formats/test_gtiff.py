from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.errors import ProcessParameterInvalid
from eostation.formats import FormatUnsuitable, default_formats
from eostation.formats.gtiff import read_gtiff

from .conftest import GEOBOX, raster

WRITER = default_formats().get_writer("GTiff")


def test_one_file_per_date_named_like_cdse(tmp_path: Path) -> None:
    files = WRITER.write(raster(), tmp_path, {})
    assert [f.name for f in files] == [
        "openEO_2022-09-07Z.tif",
        "openEO_2022-09-12Z.tif",
        "openEO_2022-09-17Z.tif",
    ]
    assert files[1].datetime == "2022-09-12T00:00:00Z"
    assert files[1].bands == ("B04", "B08")
    assert files[1].epsg == 32633 and files[1].shape == (5, 8)
    with rasterio.open(files[2].path) as ds:
        assert ds.count == 2
        assert ds.crs.to_epsg() == 32633
        assert ds.transform == GEOBOX.affine
        assert ds.descriptions == ("B04", "B08")
        assert ds.block_shapes[0] == (512, 512) and ds.compression.name.upper() == "DEFLATE"
        assert np.isnan(ds.nodata)
        b08 = ds.read(2)
    # value = 1000*t + 100*band + 10*row + col: catches transposed, flipped, swapped outputs
    assert b08[0, 0] == 2100 and b08[0, 7] == 2107 and b08[4, 0] == 2140


def test_no_time_dimension_gives_openeo_tif(tmp_path: Path) -> None:
    [f] = WRITER.write(raster(dates=None, bands=None), tmp_path, {"filename_prefix": "ndvi"})
    assert f.name == "ndvi.tif" and f.datetime is None and f.bands is None
    with rasterio.open(f.path) as ds:
        assert ds.count == 1 and ds.descriptions == (None,)
        assert ds.read(1)[3, 2] == 32


def test_single_date_keeps_the_dated_name(tmp_path: Path) -> None:
    [f] = WRITER.write(raster(dates=1), tmp_path, {})
    assert f.name == "openEO_2022-09-07Z.tif"


def test_same_day_dates_get_the_time_of_day(tmp_path: Path) -> None:
    cube = raster(dates=2).assign_coords(
        t=np.array(["2022-09-07T10:00:00", "2022-09-07T10:30:05"], dtype="datetime64[ns]")
    )
    names = [f.name for f in WRITER.write(cube, tmp_path, {})]
    assert names == ["openEO_2022-09-07T10-00-00Z.tif", "openEO_2022-09-07T10-30-05Z.tif"]


def test_south_up_cube_is_written_north_up(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None)
    flipped = cube.isel(y=slice(None, None, -1))
    [f] = WRITER.write(flipped, tmp_path, {})
    with rasterio.open(f.path) as ds:
        assert ds.transform == GEOBOX.affine
        np.testing.assert_array_equal(ds.read(1), cube.values)


def test_transposed_dims_are_reordered(tmp_path: Path) -> None:
    cube = raster(dates=None).transpose("x", "y", "bands")
    [f] = WRITER.write(cube, tmp_path, {})
    with rasterio.open(f.path) as ds:
        np.testing.assert_array_equal(ds.read(), raster(dates=None).values)


def test_nodata_option_replaces_nan(tmp_path: Path) -> None:
    cube = raster(dates=None, bands=None)
    cube[0, 0] = np.nan
    [f] = WRITER.write(cube, tmp_path, {"nodata": -9999, "compress": "lzw"})
    with rasterio.open(f.path) as ds:
        assert ds.nodata == -9999 and ds.compression.name.upper() == "LZW"
        assert ds.read(1)[0, 0] == -9999 and ds.read(1)[0, 1] == 1


def test_integer_cube_and_unfit_nodata(tmp_path: Path) -> None:
    cube = raster(dates=None).astype("uint8")
    [f] = WRITER.write(cube, tmp_path, {"nodata": 255})
    with rasterio.open(f.path) as ds:
        assert ds.dtypes == ("uint8", "uint8") and ds.nodata == 255
    with pytest.raises(FormatUnsuitable, match="nodata"):
        WRITER.write(cube, tmp_path, {"nodata": -1})


def test_dask_chunks_are_written_in_place(tmp_path: Path) -> None:
    cube = raster(chunks=True)
    assert isinstance(cube.data, da.Array)
    files = WRITER.write(cube, tmp_path, {})
    with rasterio.open(files[1].path) as ds:
        np.testing.assert_array_equal(ds.read(), raster().isel(t=1).values)


@pytest.mark.slow
def test_large_lazy_cube_streams_with_overviews(tmp_path: Path) -> None:
    geobox = GeoBox.from_bbox((0, 0, 3000, 2000), "epsg:3857", resolution=1)
    rows = da.arange(2000, chunks=500, dtype="float32")[:, None]
    cols = da.arange(3000, chunks=1000, dtype="float32")[None, :]
    cube = xr.DataArray(rows * 10000 + cols, dims=("y", "x"), coords=xr_coords(geobox))
    [f] = WRITER.write(cube, tmp_path, {})
    with rasterio.open(f.path) as ds:
        assert ds.overviews(1)  # larger than one 512 tile: overviews
        assert ds.read(1, window=((1999, 2000), (2999, 3000)))[0, 0] == 1999 * 10000 + 2999
    [g] = WRITER.write(cube, tmp_path / "plain", {"overviews": "NONE"})
    with rasterio.open(g.path) as ds:
        assert ds.overviews(1) == []


def test_cog_is_valid_layout(tmp_path: Path) -> None:
    [f] = default_formats().get_writer("COG").write(raster(dates=None), tmp_path, {})
    with rasterio.open(f.path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert f.media_type == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert not list(tmp_path.glob("*.partial*"))


def test_extra_dimension_is_unsuitable(tmp_path: Path) -> None:
    cube = raster(dates=None).expand_dims(depth=[1, 2])
    with pytest.raises(FormatUnsuitable, match="depth"):
        WRITER.write(cube, tmp_path, {})


@pytest.mark.parametrize("data", [42, [1, 2]])
def test_plain_values_are_unsuitable(tmp_path: Path, data: object) -> None:
    with pytest.raises(FormatUnsuitable):
        WRITER.write(data, tmp_path, {})


def test_filename_prefix_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(ProcessParameterInvalid, match="filename_prefix"):
        WRITER.write(raster(dates=None), tmp_path, {"filename_prefix": "../evil"})


def test_stac_asset(tmp_path: Path) -> None:
    [f, *_] = WRITER.write(raster(), tmp_path, {})
    asset = f.stac_asset()
    assert asset["href"] == "openEO_2022-09-07Z.tif"
    assert asset["proj:epsg"] == 32633 and asset["proj:shape"] == [5, 8]
    assert [b["name"] for b in asset["bands"]] == ["B04", "B08"]
    west, south, east, north = asset["bbox"]
    assert 14.99 < west < east < 15.01 and 36.1 < south < north < 36.2


def test_read_back_as_input(tmp_path: Path) -> None:
    files = WRITER.write(raster(), tmp_path, {})
    cube = default_formats().get_reader("gtiff").read(files[2].path)
    assert isinstance(cube.data, da.Array)
    assert list(cube["bands"].values) == ["B04", "B08"]
    assert cube.odc.geobox == GEOBOX
    np.testing.assert_array_equal(cube.values, raster().isel(t=2).values)
    assert read_gtiff(files[0].path, {}).attrs["nodata"] != 0


_STREAM_SCRIPT = """
import resource, sys, tempfile
from pathlib import Path
import dask, dask.array as da, xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from eostation.formats import default_formats
dask.config.set(num_workers=2)
gb = GeoBox.from_bbox((0, 0, 100000, 100000), "epsg:32633", resolution=10)
arr = da.ones((10000, 10000), chunks=(1024, 1024), dtype="float32")
cube = xr.DataArray(arr, dims=("y", "x"), coords=xr_coords(gb))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with tempfile.TemporaryDirectory() as d:
    default_formats().get_writer("GTiff").write(cube, Path(d), {})
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.slow
def test_10k_by_10k_float32_is_streamed() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT], capture_output=True, text=True, check=True
    )
    grown_mb = int(out.stdout.strip().splitlines()[-1])
    assert grown_mb < 300, f"peak memory grew by {grown_mb} MB for a 381 MB cube"

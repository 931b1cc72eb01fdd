"""netCDF and Zarr: the same CF layout, read back with xarray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import xvec  # noqa: F401
from odc.geo.xr import xr_zeros

from eostation.formats import FormatUnsuitable, default_formats

from .conftest import DATES, GEOBOX, raster, vector

REGISTRY = default_formats()


def _open(path: Path) -> xr.Dataset:
    # decode_coords="all": the ``crs`` grid-mapping variable becomes a coordinate.
    if path.suffix == ".nc":
        return xr.open_dataset(path, engine="h5netcdf", decode_coords="all")
    return xr.open_zarr(path, consolidated=True, decode_coords="all")


@pytest.mark.parametrize(("fmt", "name"), [("netCDF", "openEO.nc"), ("zarr", "openEO.zarr")])
@pytest.mark.parametrize("chunks", [False, True])
def test_raster_cube_layout(tmp_path: Path, fmt: str, name: str, chunks: bool) -> None:
    cube = raster(chunks=chunks)
    [f] = REGISTRY.get_writer(fmt).write(cube, tmp_path, {})
    assert f.name == name and f.bands == ("B04", "B08") and f.epsg == 32633
    with _open(f.path) as ds:
        assert set(ds.data_vars) == {"B04", "B08"}
        np.testing.assert_array_equal(
            ds["B08"].transpose("t", "y", "x").values, cube.sel(bands="B08").values
        )
        np.testing.assert_array_equal(ds["t"].values, DATES)
        assert ds["B04"].encoding["grid_mapping"] == "crs"  # decoded into a coordinate
        assert "32633" in ds["crs"].attrs["crs_wkt"]
        assert ds["crs"].attrs["grid_mapping_name"] == "transverse_mercator"
        assert ds["x"].attrs["standard_name"] == "projection_x_coordinate"
        assert ds["x"].attrs["units"] == "m"
        assert ds["t"].attrs["axis"] == "T"
        assert ds.attrs["Conventions"].startswith("CF-")
        # odc-geo recovers the grid from the CF grid mapping
        assert ds["B04"].odc.geobox == GEOBOX


def test_netcdf_reads_back_as_input(tmp_path: Path) -> None:
    [f] = REGISTRY.get_writer("netcdf").write(raster(), tmp_path, {})
    cube = REGISTRY.get_reader("NETCDF").read(f.path)
    assert cube.dims == ("t", "bands", "y", "x")
    assert list(cube["bands"].values) == ["B04", "B08"]
    np.testing.assert_array_equal(cube.values, raster().values)
    assert cube.odc.geobox == GEOBOX


def test_geographic_grid_units(tmp_path: Path) -> None:
    from odc.geo.geobox import GeoBox

    gb = GeoBox.from_bbox((10, 50, 10.5, 50.2), "epsg:4326", resolution=0.1)
    grid = xr_zeros(gb, dtype="float64").rename(latitude="y", longitude="x")
    cube = (grid + np.arange(10.0).reshape(2, 5)).rename("getitem-ffc55db8")
    [f] = REGISTRY.get_writer("netCDF").write(cube, tmp_path, {})
    with _open(f.path) as ds:
        # Without bands: one variable "var" as CDSE writes it, never an internal name.
        assert list(ds.data_vars) == ["var"]
        assert (
            ds["x"].attrs["units"] == "degrees_east"
            and ds["y"].attrs["standard_name"] == "latitude"
        )
        np.testing.assert_array_equal(ds["var"].values, cube.values)


def test_band_named_like_a_coordinate_is_renamed(tmp_path: Path) -> None:
    [f] = REGISTRY.get_writer("netCDF").write(raster(bands=("x", "B02")), tmp_path, {})
    with _open(f.path) as ds:
        assert set(ds.data_vars) == {"x_", "B02"}


@pytest.mark.parametrize("fmt", ["netCDF", "Zarr"])
def test_vector_cube_with_cf_geometries(tmp_path: Path, fmt: str) -> None:
    cube = vector()
    [f] = REGISTRY.get_writer(fmt).write(cube, tmp_path, {})
    with _open(f.path) as raw:
        ds = raw.load().xvec.decode_cf()
    geoms = ds["geometries"].values
    assert [g.equals(e) for g, e in zip(geoms, cube["geometries"].values, strict=True)] == [
        True,
        True,
    ]
    assert list(ds["feature_id"].values) == ["field-a", "field-b"]
    np.testing.assert_array_equal(
        ds["B08"].transpose("t", "geometries").values, cube.sel(bands="B08").values
    )
    assert np.isnan(ds["B04"].isel(t=0, geometries=1))


@pytest.mark.parametrize("fmt", ["netCDF", "Zarr"])
def test_plain_value_is_unsuitable(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(FormatUnsuitable):
        REGISTRY.get_writer(fmt).write([1, 2, 3], tmp_path, {})


def test_zarr_is_chunked_after_the_cube(tmp_path: Path) -> None:
    [f] = REGISTRY.get_writer("Zarr").write(raster(chunks=True), tmp_path, {})
    with xr.open_zarr(f.path) as ds:
        assert ds["B04"].encoding["chunks"] == (3, 2, 3)
    # written twice to the same place: replaced, not appended
    [g] = REGISTRY.get_writer("Zarr").write(raster(dates=1), tmp_path, {})
    with xr.open_zarr(g.path) as ds:
        assert ds.sizes["t"] == 1

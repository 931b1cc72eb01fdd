"""Cubes as CF-convention datasets, shared by the netCDF and Zarr writers.

The layout CDSE writes: bands become separate variables named by band (a cube
without ``bands`` is one variable ``var``); the grid becomes a ``crs`` grid-mapping
*data variable* (attributes from ``pyproj.CRS.to_cf()``, including ``crs_wkt`` and
``spatial_ref`` so that GDAL and odc-geo find it) referenced by every data variable;
``x``/``y``/``t`` get CF ``standard_name``, ``axis`` and units.

``crs`` is a data variable, not a coordinate, so that a single-band file still holds
two variables: ``xarray.open_dataarray`` then refuses it and readers fall back to
``open_dataset(decode_coords="all").to_dataarray(dim="bands")``, which keeps the
band name and the ``(bands, t, y, x)`` dimensions (as the openEO test suite reads
CDSE's files). Vector cubes keep their geometries as CF geometry containers (xvec's
``encode_cf``; read back with ``xarray.open_dataset(...).xvec.decode_cf()``), with
``lon``/``lat`` a point inside each geometry.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
import xarray as xr
import xvec  # noqa: F401  (registers the .xvec accessor)

from eostation.errors import DataCubeEmpty, FormatUnsuitable
from eostation.formats.cubes import is_raster_cube, is_vector_cube

__all__ = ["cube_to_dataset"]

_RESERVED = {"x", "y", "t", "crs", "spatial_ref", "geometries", "bands"}


def _variable_names(labels: list[Any], default: str) -> list[str]:
    names: list[str] = []
    for label in labels:
        name = str(label) or default
        while name in _RESERVED or name in names:
            name += "_"
        names.append(name)
    return names


def _storable(value: Any) -> Any:
    """An attribute value netCDF and Zarr can hold: booleans as 0/1, structures as JSON text."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.number):
        return value
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in value)
    ):
        return list(value)
    return json.dumps(value, default=str)


def _split_bands(cube: xr.DataArray) -> xr.Dataset:
    cube = cube.copy(deep=False)
    cube.attrs = {k: _storable(v) for k, v in cube.attrs.items() if v is not None}
    # How a cube read from a file was stored (its grid_mapping, scale, chunks) is not how
    # this file stores it; xarray refuses a grid_mapping in both attrs and encoding.
    cube.encoding = {}
    if "bands" not in cube.dims:
        # openEO cubes have no name; cube.name is an internal one (e.g. a dask key).
        return cube.rename("var").to_dataset()
    names = _variable_names(list(cube["bands"].values), "band")
    variables = {n: cube.isel(bands=i, drop=True).rename(n) for i, n in enumerate(names)}
    return xr.Dataset(variables, attrs={})


def _raster_dataset(cube: xr.DataArray) -> xr.Dataset:
    crs = cube.odc.crs
    drop = [c for c in ("spatial_ref", "crs") if c in cube.coords]
    ds = _split_bands(cube.drop_vars(drop))
    if crs is not None:
        for var in ds.data_vars.values():
            var.attrs["grid_mapping"] = "crs"
        ds["crs"] = xr.Variable((), np.int32(0), attrs=crs.proj.to_cf())
        geographic = crs.geographic
    else:
        geographic = False
    for axis, dim in (("X", "x"), ("Y", "y")):
        ds[dim].attrs.update(
            {"axis": axis, "long_name": f"{dim} coordinate of pixel centre"}
            | (
                {
                    "standard_name": "longitude" if dim == "x" else "latitude",
                    "units": "degrees_east" if dim == "x" else "degrees_north",
                }
                if geographic
                else {"standard_name": f"projection_{dim}_coordinate", "units": _linear_unit(crs)}
            )
        )
    return ds


def _linear_unit(crs: Any) -> str:
    if crs is None:
        return "1"
    units = crs.units
    unit = str(units[0]) if units else "metre"
    return "m" if unit in ("metre", "meter", "m") else unit


def _vector_dataset(cube: xr.DataArray) -> xr.Dataset:
    encoded: xr.Dataset = _split_bands(cube).xvec.encode_cf()
    # The encoder's lon/lat are each geometry's first vertex: use a point inside it.
    points = shapely.point_on_surface(np.asarray(cube["geometries"].values, dtype=object))
    for name, values in (("lon", shapely.get_x(points)), ("lat", shapely.get_y(points))):
        if name in encoded.variables and encoded[name].shape == values.shape:
            attrs = dict(encoded[name].attrs) | {"comment": "a point inside the geometry"}
            encoded[name] = xr.Variable(encoded[name].dims, values, attrs=attrs)
    return encoded


def cube_to_dataset(cube: Any, format_name: str) -> xr.Dataset:
    """A raster or vector cube as a CF dataset (see the module docs)."""
    if not isinstance(cube, xr.DataArray) or not (is_raster_cube(cube) or is_vector_cube(cube)):
        raise FormatUnsuitable(
            format=format_name,
            reason=f"it holds raster or vector cubes, got a {type(cube).__name__}",
        )
    if cube.size == 0:
        raise DataCubeEmpty(format=format_name)
    ds = _vector_dataset(cube) if is_vector_cube(cube) else _raster_dataset(cube)
    if "t" in ds.coords:
        ds["t"].attrs.update({"standard_name": "time", "axis": "T", "long_name": "time"})
    ds.attrs.update({"Conventions": "CF-1.8", "source": "eostation (openEO save_result)"})
    return ds

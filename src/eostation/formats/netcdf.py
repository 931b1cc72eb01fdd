"""netCDF output (``openEO.nc``, CF conventions, HDF5 via h5netcdf) and input.

The layout is that of :func:`eostation.formats.dataset.cube_to_dataset`: one
variable per band, a ``crs`` grid mapping, CF coordinates. Dask cubes are written
chunk by chunk by xarray, never loaded whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from eostation.errors import FileContentInvalid
from eostation.formats.cubes import grid_fields, is_raster_cube
from eostation.formats.dataset import cube_to_dataset
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.writer import Reader, Writer

__all__ = ["NETCDF_READER", "NetCDFWriter", "read_netcdf", "stac_fields"]

_LINKS = (
    {"href": "https://cfconventions.org/", "rel": "about", "title": "CF conventions"},
    {
        "href": "https://gdal.org/drivers/raster/netcdf.html",
        "rel": "about",
        "title": "GDAL on netCDF",
    },
)


def stac_fields(cube: Any) -> dict[str, Any]:
    """OutputFile fields (bands, grid) for a single file holding the whole ``cube``."""
    fields: dict[str, Any] = {}
    if isinstance(cube, xr.DataArray) and "bands" in cube.dims:
        fields["bands"] = tuple(str(b) for b in cube["bands"].values)
    if is_raster_cube(cube) and cube.odc.geobox is not None:
        fields.update(grid_fields(cube.odc.geobox))
    return fields


class NetCDFWriter(Writer):
    """netCDF4/HDF5 with CF conventions: one file for the whole cube."""

    name: ClassVar[str] = "netCDF"
    title: ClassVar[str] = "Network Common Data Form"
    description: ClassVar[str] = (
        "One file `openEO.nc` (netCDF4/HDF5) following the CF conventions: one variable per "
        "band, named by band (one variable `var` without bands), as CDSE writes it; `x`, `y`, "
        "`t` coordinates with units; a `crs` grid-mapping variable. Vector cubes keep their "
        "geometries as CF geometry containers, `lon`/`lat` a point inside each geometry."
    )
    media_type: ClassVar[str] = "application/x-netcdf"
    gis_data_types: ClassVar[tuple[str, ...]] = ("raster", "vector")
    options: ClassVar[dict[str, Option]] = {
        "filename_prefix": FILENAME_PREFIX,
        # Off by default: on float cubes deflate saved 12 % (level 4) to 23 % (level 1 with
        # byte shuffling) of the file for 7-20x the writing time (docs/benchmarks.md).
        "zlib": Option(
            "Compress variables with zlib (deflate, bytes shuffled first).",
            {"type": "boolean"},
            False,
        ),
        "complevel": Option(
            "Compression level for `zlib`.", {"type": "integer", "minimum": 1, "maximum": 9}, 1
        ),
    }
    links: ClassVar[tuple[dict[str, str], ...]] = _LINKS

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        ds = cube_to_dataset(data, self.name)
        encoding: dict[str, dict[str, Any]] = {}
        if options["zlib"]:
            for name, var in ds.data_vars.items():
                if var.ndim and var.dtype.kind in "biuf":
                    encoding[str(name)] = {
                        "zlib": True,
                        "complevel": options["complevel"],
                        "shuffle": True,
                    }
        path = directory / f"{file_prefix(self.name, options)}.nc"
        ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
        return [OutputFile(path=path, media_type=self.media_type, **stac_fields(data))]


def read_netcdf(path: Path, options: dict[str, Any]) -> xr.DataArray:
    """Open a netCDF file lazily as a cube: its data variables become the ``bands``."""
    try:
        ds = xr.open_dataset(path, engine="h5netcdf", chunks={}, decode_coords="all")
    except (OSError, ValueError) as e:
        raise FileContentInvalid(reason=f"{path.name} is not a readable netCDF file ({e})") from e
    crs = ds["crs"] if "crs" in ds.variables else None
    variables = [n for n, v in ds.data_vars.items() if v.ndim]
    if not variables:
        raise FileContentInvalid(reason=f"{path.name} holds no data variables")
    cube = ds[variables].to_dataarray(dim="bands")
    if crs is not None and "crs_wkt" in crs.attrs:
        cube = cube.drop_vars("crs", errors="ignore").odc.assign_crs(crs.attrs["crs_wkt"])
    return cube.transpose(*[d for d in ("t", "bands", "y", "x") if d in cube.dims], ...)


NETCDF_READER = Reader(
    name="netCDF",
    title="Network Common Data Form",
    description=(
        "A netCDF file; its data variables become the `bands` of the cube, a CF grid mapping "
        "(`crs_wkt`) gives the CRS."
    ),
    gis_data_types=("raster",),
    read_function=read_netcdf,
    links=_LINKS,
)

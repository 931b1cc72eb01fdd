"""``load_url``: a file from an http(s) URL as a vector or raster cube.

GeoJSON and GeoParquet become vector cubes; GTiff (rasterio) and netCDF (h5netcdf)
become raster cubes with their grid (odc-geo). The file is downloaded to a temporary
directory first (at most ``EvalContext.limits.load_url_max_bytes``, 2 GiB by default).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.processes.cubes.geometries import geometry_set, vector_cube
from eostation.engine.processes.cubes.schemas import Cube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["load_url", "read_file"]

FORMATS = ("geojson", "geoparquet", "parquet", "gtiff", "geotiff", "netcdf")


def _unsuitable(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process="load_url", parameter="format", reason=reason, exception="FormatUnsuitable"
    )


def _gtiff(path: Path) -> xr.DataArray:
    import rasterio
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    with rasterio.open(path) as ds:
        values = ds.read().astype(np.float64)
        if ds.nodata is not None:
            values[values == ds.nodata] = np.nan
        box = GeoBox(ds.shape, ds.transform, ds.crs.to_wkt() if ds.crs else "EPSG:4326")
        names = [d or f"band{i + 1}" for i, d in enumerate(ds.descriptions)]
    return xr.DataArray(values, dims=("bands", "y", "x"), coords={"bands": names, **xr_coords(box)})


def _netcdf(path: Path) -> xr.DataArray:
    dataset = xr.load_dataset(path, engine="h5netcdf")
    names = [n for n, v in dataset.data_vars.items() if v.ndim >= 2]
    if not names:
        raise _unsuitable("the netCDF file holds no gridded variable")
    cube = dataset[names].to_dataarray("bands")
    rename = {k: v for k, v in (("time", "t"), ("lat", "y"), ("lon", "x")) if k in cube.dims}
    return cube.rename(rename)


def read_file(path: Path, file_format: str) -> xr.DataArray:
    """A downloaded file as a cube (vector for GeoJSON/GeoParquet, raster otherwise)."""
    kind = file_format.lower()
    if kind == "geojson":
        return vector_cube(geometry_set(json.loads(path.read_text()), "load_url", "url"))
    if kind in ("geoparquet", "parquet"):
        import geopandas

        return vector_cube(geometry_set(geopandas.read_parquet(path), "load_url", "url"))
    if kind in ("gtiff", "geotiff"):
        return _gtiff(path)
    if kind == "netcdf":
        return _netcdf(path)
    raise _unsuitable(f"'{file_format}' cannot be loaded; use one of {', '.join(FORMATS)}")


@process(
    "load_url",
    categories=("cubes", "import"),
    experimental=True,
    exceptions={"FormatUnsuitable": "The file cannot be read in the given format."},
)
def load_url(
    url: Annotated[
        str, Param({"type": "string", "format": "uri", "subtype": "uri", "pattern": "^https?://"})
    ],
    format: Annotated[str, Param({"type": "string", "subtype": "input-format"})],
    options: Annotated[
        dict[str, Any], Param({"type": "object", "subtype": "input-format-options"})
    ] = {},  # noqa: B006  (spec default; never mutated)
    *,
    env: EvalContext,
) -> Cube:
    """Load a file from the web: GeoJSON or GeoParquet as vector cube, GTiff or netCDF as
    raster cube.

    Args:
        url: The http(s) URL of the file.
        format: The file format: `GeoJSON`, `GeoParquet`, `GTiff` or `netCDF`.
        options: Options of the input format (none are needed).

    Returns:
        A vector or raster cube.
    """
    if format.lower() not in FORMATS:
        raise _unsuitable(f"'{format}' cannot be loaded; use one of {', '.join(FORMATS)}")
    limit = env.limits.load_url_max_bytes
    with tempfile.TemporaryDirectory(prefix="eostation-url-") as tmp:
        path = Path(tmp) / "download"
        import httpx  # here: only a download needs it

        try:
            with (
                env.limits.outbound.client() as http,
                http.stream("GET", url) as response,
            ):
                response.raise_for_status()
                size = 0
                with path.open("wb") as f:
                    for part in response.iter_bytes():
                        size += len(part)
                        if size > limit:
                            raise ProcessParameterInvalid(
                                process="load_url",
                                parameter="url",
                                reason=f"larger than {limit} bytes",
                            )
                        f.write(part)
        except httpx.HTTPError as exc:
            raise ProcessParameterInvalid(
                process="load_url", parameter="url", reason=f"download failed: {exc}"
            ) from exc
        try:
            return read_file(path, format)
        except (ValueError, OSError) as exc:
            raise _unsuitable(f"the file is not valid {format}: {exc}") from exc

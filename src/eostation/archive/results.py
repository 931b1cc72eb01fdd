"""openEO result files (netCDF, GeoTIFF) as cubes ready to ingest."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["read_result", "read_results"]

#: CDSE and eostation name per-date GeoTIFFs ``openEO_2022-09-07Z.tif``.
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2}(?:T\d{2}[:_-]?\d{2}[:_-]?\d{2})?)Z?")


def read_result(path: Path, date: str | None = None) -> xr.DataArray:
    """A ``(t, bands, y, x)`` float32 cube with NaN nodata from one result file.

    A GeoTIFF has no time axis: its date comes from ``date`` or from the file name.
    """
    if path.suffix == ".nc":
        from eostation.formats.netcdf import read_netcdf

        cube = read_netcdf(path, {}).load()
        if "t" not in cube.dims:
            cube = cube.expand_dims(t=[np.datetime64(_date_of(path, date), "ns")])
        return cube.astype(np.float32)
    from eostation.formats.gtiff import read_gtiff

    cube = read_gtiff(path, {}).load()
    nodata = cube.attrs.get("nodata")
    cube = cube.astype(np.float32)
    if nodata is not None and not np.isnan(nodata):
        cube = cube.where(cube != nodata)
    return cube.expand_dims(t=[np.datetime64(_date_of(path, date), "ns")])


def read_results(paths: Iterable[Path]) -> list[xr.DataArray]:
    """The cubes of every netCDF/GeoTIFF among ``paths`` (STAC and log files are skipped)."""
    return [read_result(p) for p in sorted(paths) if p.suffix in (".nc", ".tif", ".tiff")]


def _date_of(path: Path, date: str | None) -> str:
    if date is not None:
        return date
    match = _DATE.search(path.stem)
    if match is None:
        raise ValueError(f"cannot tell the date of {path.name}: pass it explicitly")
    return match.group(1).replace("_", ":")

"""How writers see their input: raster cube, vector cube or plain value, and its parts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from eostation.errors import DataCubeEmpty, FormatUnsuitable

__all__ = [
    "RasterLayer",
    "is_raster_cube",
    "is_vector_cube",
    "iso_instant",
    "json_safe",
    "raster_layers",
    "time_stamps",
]

RASTER_DIMS = ("t", "bands", "y", "x")


def is_vector_cube(data: Any) -> bool:
    """A DataArray with a ``geometries`` dimension (as ``aggregate_spatial`` returns)."""
    return isinstance(data, xr.DataArray) and "geometries" in data.dims


def is_raster_cube(data: Any) -> bool:
    """A DataArray with ``x`` and ``y`` dimensions."""
    return isinstance(data, xr.DataArray) and {"x", "y"} <= set(data.dims)


def iso_instant(value: Any) -> str:
    """A time label as ISO 8601 UTC, ``2022-09-07T00:00:00Z``."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return str(ts.strftime("%Y-%m-%dT%H:%M:%SZ"))


def time_stamps(values: Any) -> list[str]:
    """File-name stamps for time labels: ``2022-09-07Z``, or with the time of day
    (``2022-09-07T10-30-00Z``) when two labels fall on the same day."""
    stamps = [pd.Timestamp(v) for v in np.asarray(values)]
    days = [s.strftime("%Y-%m-%d") for s in stamps]
    if len(set(days)) == len(days):
        return [d + "Z" for d in days]
    return [s.strftime("%Y-%m-%dT%H-%M-%SZ") for s in stamps]


def json_safe(value: Any) -> Any:
    """``value`` with numpy/pandas/datetime types made JSON-able; NaN and NaT become None."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, float | np.floating):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.datetime64 | pd.Timestamp | dt.datetime):
        return None if pd.isna(value) else iso_instant(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        if value.ndim and value.dtype.kind in "fiub":
            return _number_lists(value)
        return [json_safe(v) for v in value.tolist()] if value.ndim else json_safe(value.item())
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if hasattr(value, "__geo_interface__"):
        return value.__geo_interface__
    if isinstance(value, xr.DataArray):
        return json_safe(value.values)
    raise FormatUnsuitable(format="JSON", reason=f"a value of type {type(value).__name__}")


def _number_lists(values: np.ndarray) -> Any:
    """Nested lists of Python numbers, non-finite floats as None, made by numpy in one
    pass: a time series of 1,000 geometries × 60 dates × 4 bands spent more time in a
    per-value :func:`json_safe` than in the JSON encoder."""
    if values.dtype.kind != "f":
        return values.tolist()
    # float64 first: float32 values become the same Python floats as .tolist() gives.
    objects = values.astype(np.float64).astype(object)
    objects[~np.isfinite(values)] = None
    return objects.tolist()


@dataclass(frozen=True)
class RasterLayer:
    """One file's worth of a raster cube: ``(bands, y, x)``, north up, plus its date."""

    data: xr.DataArray
    geobox: GeoBox
    time: Any | None
    bands: tuple[str, ...] | None

    @property
    def datetime(self) -> str | None:
        """The layer's date as ISO 8601, None when the cube has no ``t`` dimension."""
        return None if self.time is None else iso_instant(self.time)


def north_up(cube: xr.DataArray) -> xr.DataArray:
    """``cube`` with rows ordered north to south, as GeoTIFF and PNG expect."""
    ys = cube["y"].values
    if ys.size > 1 and ys[1] > ys[0]:
        return cube.isel(y=slice(None, None, -1))
    return cube


def check_dims(cube: xr.DataArray, format_name: str, allowed: tuple[str, ...]) -> None:
    """FormatUnsuitable when ``cube`` has a dimension outside ``allowed``, DataCubeEmpty if empty."""
    extra = [d for d in cube.dims if d not in allowed]
    if extra:
        raise FormatUnsuitable(
            format=format_name,
            reason=(
                f"it holds only the dimensions {', '.join(allowed)}, the cube also has "
                f"{', '.join(map(str, extra))}; reduce or rename them first"
            ),
        )
    if cube.size == 0:
        raise DataCubeEmpty(format=format_name)


def raster_layers(cube: Any, format_name: str) -> Iterator[RasterLayer]:
    """Split a raster cube into north-up ``(bands, y, x)`` layers, one per ``t`` label."""
    if not is_raster_cube(cube):
        kind = "a vector cube" if is_vector_cube(cube) else f"a {type(cube).__name__}"
        raise FormatUnsuitable(format=format_name, reason=f"it needs a raster cube, got {kind}")
    check_dims(cube, format_name, RASTER_DIMS)
    cube = north_up(cube)
    if "bands" not in cube.dims:
        cube = cube.expand_dims("bands")
        bands = None
    else:
        bands = tuple(str(b) for b in cube["bands"].values)
    geobox = cube.odc.geobox
    if geobox is None:
        raise FormatUnsuitable(format=format_name, reason="the cube has no regular x/y grid")
    if "t" not in cube.dims:
        yield RasterLayer(cube.transpose("bands", "y", "x"), geobox, None, bands)
        return
    for i in range(cube.sizes["t"]):
        layer = cube.isel(t=i)
        yield RasterLayer(layer.transpose("bands", "y", "x"), geobox, layer["t"].values, bands)


def grid_fields(geobox: GeoBox) -> dict[str, Any]:
    """``bbox`` (EPSG:4326), ``epsg``, ``shape`` and ``transform`` for an OutputFile."""
    out: dict[str, Any] = {
        "shape": (int(geobox.shape.y), int(geobox.shape.x)),
        "transform": tuple(float(v) for v in geobox.affine[:6]),
    }
    if geobox.crs is not None:
        out["epsg"] = geobox.crs.epsg
        b = geobox.geographic_extent.boundingbox
        out["bbox"] = (float(b.left), float(b.bottom), float(b.right), float(b.top))
    return out

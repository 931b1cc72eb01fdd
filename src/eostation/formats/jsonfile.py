"""JSON output: plain values, ``aggregate_spatial`` time series, and small raster cubes.

* Plain values (numbers, strings, lists, dicts, numpy values) are written as JSON,
  NaN and infinities as ``null``, dates as ISO 8601 strings.
* A vector cube with a ``t`` dimension is written in the shape that the openEO
  client's ``timeseries_json_to_pandas`` reads (and that CDSE writes): the dates
  (``2022-09-07T00:00:00Z``) are the only top-level keys, each mapping to a list
  with one entry per geometry (in cube order), each a list with one value per band
  (one value when the cube has no ``bands`` dimension). Without ``t``, the file is
  that per-geometry list alone. Band names and geometry names (if the cube has a
  string coordinate along ``geometries``) are reported in the OutputFile metadata.
* A raster cube is written as ``{"dims", "coords", "data", "attrs"}``, the layout of
  ``xarray.DataArray.to_dict(data="list")`` (so ``xarray.DataArray.from_dict``
  reads it), times as ISO strings, and the CRS as ``attrs["crs"]`` (WKT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from eostation.formats.cubes import (
    check_dims,
    is_raster_cube,
    is_vector_cube,
    iso_instant,
    json_safe,
)
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.writer import Writer

__all__ = ["JSONWriter", "geometry_names", "raster_to_json", "timeseries_to_json"]


def geometry_names(cube: xr.DataArray) -> list[str] | None:
    """Names of the geometries of a vector cube, from its first string coordinate along
    ``geometries`` (besides the geometries themselves); None when there is none."""
    for name, coord in cube.coords.items():
        if name != "geometries" and coord.dims == ("geometries",) and coord.dtype.kind in "OUS":
            values = coord.values.tolist()
            if all(isinstance(v, str) for v in values):
                return [str(v) for v in values]
    return None


def timeseries_to_json(cube: xr.DataArray) -> Any:
    """A vector cube as ``{date: [[band values] per geometry]}`` (see the module docs)."""
    check_dims(cube, "JSON", ("t", "geometries", "bands"))
    if "bands" not in cube.dims:
        cube = cube.expand_dims("bands", axis=-1)
    if "t" not in cube.dims:
        return json_safe(np.asarray(cube.transpose("geometries", "bands").values))
    values = np.asarray(cube.transpose("t", "geometries", "bands").values)
    return {iso_instant(t): json_safe(values[i]) for i, t in enumerate(cube["t"].values)}


def raster_to_json(cube: xr.DataArray) -> dict[str, Any]:
    """A raster cube in ``DataArray.to_dict(data="list")`` layout, JSON-safe."""
    crs = cube.odc.crs
    # openEO cubes have no name; cube.name is an internal one (e.g. a dask key).
    cube = cube.drop_vars([c for c in ("spatial_ref", "crs") if c in cube.coords]).rename(None)
    out: dict[str, Any] = json_safe(cube.to_dict(data="list"))
    if crs is not None:
        out.setdefault("attrs", {})["crs"] = crs.to_wkt()
    return out


class JSONWriter(Writer):
    """JSON: plain values, vector-cube time series, small raster cubes."""

    name: ClassVar[str] = "JSON"
    title: ClassVar[str] = "JSON"
    description: ClassVar[str] = (
        "JavaScript Object Notation, `openEO.json`. Plain values as they are (NaN as null). "
        "A vector cube (`aggregate_spatial`) as `{date: [[value per band] per geometry]}`, "
        "the structure that the openEO Python client's `timeseries_json_to_pandas` reads "
        "(without `t`: the per-geometry list only). A raster cube as "
        "`{dims, coords, data, attrs}` like xarray's `DataArray.to_dict`."
    )
    media_type: ClassVar[str] = "application/json"
    gis_data_types: ClassVar[tuple[str, ...]] = ("vector", "raster", "table", "other")
    options: ClassVar[dict[str, Option]] = {"filename_prefix": FILENAME_PREFIX}
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {"href": "https://www.rfc-editor.org/rfc/rfc8259", "rel": "about", "title": "JSON"},
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        path = directory / f"{file_prefix(self.name, options)}.json"
        extra: dict[str, Any] = {}
        bands: tuple[str, ...] | None = None
        if is_vector_cube(data):
            body = timeseries_to_json(data)
            if "bands" in data.dims:
                bands = tuple(str(b) for b in data["bands"].values)
            extra["eostation:geometry_count"] = int(data.sizes["geometries"])
            names = geometry_names(data)
            if names is not None:
                extra["eostation:geometry_names"] = names
        elif is_raster_cube(data):
            body = raster_to_json(data)
        else:
            body = json_safe(data)
        # json.dumps, not json.dump: only the one-shot call uses the C encoder (3× faster).
        path.write_text(json.dumps(body, allow_nan=False), encoding="utf-8")
        return [OutputFile(path=path, media_type=self.media_type, bands=bands, extra=extra)]

"""Polygon masks over raster cubes: ``mask_polygon`` and ``apply_polygon``.

Both use the centre rule of the specs: a pixel belongs to a polygon when its centre
intersects it (boundary included). Polygons are reprojected to the cube's CRS; the
masks are lazy, computed per spatial chunk (:func:`eostation.engine.cube.inside_mask`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import shapely
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import spatial_dims
from eostation.engine.grid import inside_mask
from eostation.engine.processes.cubes.aggregate_spatial import geometry_narrowing
from eostation.engine.processes.cubes.geometries import cube_crs, geometry_set
from eostation.engine.processes.cubes.schemas import RASTER, RasterCube, datacube
from eostation.engine.processes.cubes.zonal import membership
from eostation.engine.pushdown import Narrowing, register_rule
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param
from eostation.engine.vectorize import select
from eostation.errors import ProcessParameterInvalid

__all__ = ["apply_polygon", "mask_polygon"]

_POLYGONS = datacube({"type": "geometry", "geometry_type": ["Polygon", "MultiPolygon"]})
_MASK = Annotated[
    Any, Param([_POLYGONS, {"type": "object", "subtype": "geojson", "deprecated": True}])
]
_REPLACEMENT = Annotated[
    Any,
    Param([{"type": "number"}, {"type": "boolean"}, {"type": "string"}, {"type": "null"}]),
]
_PROCESS = Annotated[
    Callback,
    Param(
        callback_schema(
            [
                cb_param("data", "The sub cube of one polygon.", RASTER),
                cb_param("context", "The `context` argument.", {}, default=None),
            ],
            {"schema": RASTER},
            "The processed sub cube.",
        )
    ),
]


def _polygons(value: Any, cube: xr.DataArray, process_id: str, parameter: str) -> list[Any]:
    geoms = geometry_set(value, process_id, parameter).to_crs(cube_crs(cube)).geometries
    kept = [g for g in geoms if g is not None and not shapely.is_empty(g)]
    if not kept:
        raise ProcessParameterInvalid(
            process=process_id, parameter=parameter, reason="no (non-empty) polygon given"
        )
    if any(shapely.get_dimensions(g) != 2 for g in kept):
        raise ProcessParameterInvalid(
            process=process_id, parameter=parameter, reason="only polygons are supported"
        )
    return kept


@register_rule("mask_polygon")
def _mask_polygon_narrowing(arguments: Mapping[str, Any]) -> Narrowing | None:
    # The masked cube keeps its extent (nulls outside): only a load without any
    # spatial extent is narrowed, and only when the polygons' insides are kept.
    if arguments.get("inside") is True:
        return None
    return geometry_narrowing(arguments.get("mask"), exact=False)


@process("mask_polygon", categories=("cubes", "masks"))
def mask_polygon(
    data: RasterCube,
    mask: _MASK,
    replacement: _REPLACEMENT = None,
    inside: bool = False,
) -> RasterCube:
    """Replace the pixels outside (or inside) polygons.

    A pixel is inside when its centre lies in a polygon or on its boundary. Pixels that
    are no-data already stay as they are.

    Args:
        data: A raster cube.
        mask: Polygons: a vector cube, or GeoJSON (Polygon, MultiPolygon, Feature or
            FeatureCollection of those); empty geometries are ignored.
        replacement: The value for replaced pixels; null means no-data.
        inside: Replace the pixels inside the polygons instead of those outside.

    Returns:
        The masked cube, with unchanged dimensions.
    """
    polygons = _polygons(mask, data, "mask_polygon", "mask")
    within = inside_mask(data, polygons)
    replace = within if inside else ~within
    if replacement is None:
        return data.where(~replace)
    out = select(replace & data.notnull(), replacement, data)
    return out.transpose(*data.dims).assign_attrs(data.attrs)


@process(
    "apply_polygon",
    categories=("cubes",),
    exceptions={"GeometriesOverlap": "A pixel belongs to more than one polygon."},
)
def apply_polygon(
    data: RasterCube,
    geometries: Annotated[Any, Param(_POLYGONS)],
    process: _PROCESS,
    mask_value: _REPLACEMENT = None,
    context: Context = None,
) -> RasterCube:
    """Run a process on the part of the cube under each polygon.

    For each polygon, the pixels whose centre lies in it form a sub cube (cut to the
    polygon's bounds, other pixels set to `mask_value`); the process's result is written
    back to those pixels. Pixels outside every polygon become no-data. Overlapping
    polygons are an error, since a pixel could get two results.

    Args:
        data: A raster cube.
        geometries: Polygons, as a vector cube or GeoJSON; empty geometries are ignored.
        process: Applied to each polygon's sub cube; must return a cube of the same shape.
        mask_value: The value of the pixels outside the polygon in each sub cube; null
            means no-data.
        context: Passed on to the process.

    Returns:
        A cube with the dimensions of `data`.
    """
    polygons = _polygons(geometries, data, "apply_polygon", "geometries")
    ydim, xdim = spatial_dims(data)
    member = membership(polygons, data[ydim].values, data[xdim].values)
    pixels = member.iy * data.sizes[xdim] + member.ix
    if np.unique(pixels).size != pixels.size:
        raise ProcessParameterInvalid(
            process="apply_polygon",
            parameter="geometries",
            reason="polygons overlap: a pixel centre lies in more than one",
            exception="GeometriesOverlap",
        )
    out = xr.full_like(data, np.nan, dtype=np.float64)
    for index in range(len(polygons)):
        mine = member.geometry == index
        if not mine.any():
            continue
        rows = slice(int(member.iy[mine].min()), int(member.iy[mine].max()) + 1)
        cols = slice(int(member.ix[mine].min()), int(member.ix[mine].max()) + 1)
        window = np.zeros((rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
        window[member.iy[mine] - rows.start, member.ix[mine] - cols.start] = True
        where = xr.DataArray(window, dims=(ydim, xdim))
        sub = data.isel({ydim: rows, xdim: cols})
        masked = sub.where(where) if mask_value is None else select(where, sub, mask_value)
        result = process(data=masked.assign_attrs(data.attrs), context=context)
        if not isinstance(result, xr.DataArray) or result.sizes != sub.sizes:
            raise ProcessParameterInvalid(
                process="apply_polygon",
                parameter="process",
                reason="the process must return a cube with the dimensions of its input",
            )
        placed = result.transpose(*sub.dims).reindex_like(out, fill_value=np.nan)
        full = xr.zeros_like(out[ydim] * out[xdim], dtype=bool)
        full[{ydim: rows, xdim: cols}] = window
        out = select(full, placed, out)
    return out.transpose(*data.dims).assign_attrs(data.attrs)

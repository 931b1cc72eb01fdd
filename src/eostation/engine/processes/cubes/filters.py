"""Filters: keep part of a cube by extent, time, bands, labels or geometries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import pandas as pd
import shapely
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import (
    band_dimension,
    band_info,
    dims_of_type,
    ensure_cube,
    label_values,
    labels,
    require_dimension,
)
from eostation.engine.grid import bbox_in_crs, clip_to_bounds, crs, inside_mask
from eostation.engine.processes.cubes.aggregate_spatial import geometry_narrowing
from eostation.engine.processes.cubes.geometries import GEOMETRIES_DIM, GeometrySet, geometry_set
from eostation.engine.processes.cubes.io import temporal_interval
from eostation.engine.processes.cubes.schemas import (
    BBOX,
    CUBE,
    RASTER,
    TEMPORAL_CUBE,
    TEMPORAL_INTERVAL_EXAMPLES,
    TEMPORAL_INTERVAL_ITEMS,
    VECTOR,
    Cube,
    RasterCube,
    TemporalCube,
    datacube,
)
from eostation.engine.pushdown import Narrowing, register_rule
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param
from eostation.errors import BandFilterParameterMissing, DimensionNotAvailable

__all__ = [
    "filter_bands",
    "filter_bbox",
    "filter_labels",
    "filter_spatial",
    "filter_temporal",
    "mask_outside",
]

_FILTER = ("cubes", "filter")
RasterOrVector = Annotated[Any, Param([RASTER, VECTOR])]


def mask_outside(cube: xr.DataArray, geometries: GeometrySet) -> xr.DataArray:
    """``cube`` clipped to the geometries' bounding box, null where no geometry covers a
    pixel centre (lazy)."""
    target = crs(cube)
    moved = geometries.to_crs(target) if target is not None else geometries
    clipped = clip_to_bounds(cube, moved.bounds(moved.crs))
    if clipped.size == 0:
        return clipped
    return clipped.where(inside_mask(clipped, list(moved.geometries)))


@process("filter_bbox", categories=_FILTER)
def filter_bbox(data: RasterOrVector, extent: Annotated[Any, Param(BBOX)]) -> RasterOrVector:
    """Keep the part of a cube inside a bounding box.

    For raster cubes, a pixel is kept when its centre lies in the box (edges included);
    the box may use any CRS (`crs`, EPSG:4326 by default) and is reprojected to the
    cube's grid. For vector cubes, geometries that intersect the box are kept.

    Args:
        data: A raster or vector data cube.
        extent: The bounding box, `west`/`south`/`east`/`north` in `crs`.

    Returns:
        The cube restricted to the box; dimensions and other labels are unchanged.
    """
    cube = ensure_cube(data, "filter_bbox")
    box = tuple(float(extent[k]) for k in ("west", "south", "east", "north"))
    box_crs = extent.get("crs") or 4326
    if GEOMETRIES_DIM in cube.dims and "x" not in cube.dims:
        geoms = geometry_set(cube, "filter_bbox", "data")
        area = shapely.box(*bbox_in_crs(box, box_crs, geoms.crs))  # type: ignore[arg-type]
        keep = shapely.intersects(geoms.geometries, area)
        return cube.isel({GEOMETRIES_DIM: np.flatnonzero(keep)})
    target = crs(cube)
    bounds = bbox_in_crs(box, box_crs, target) if target is not None else box  # type: ignore[arg-type]
    return clip_to_bounds(cube, bounds)  # type: ignore[arg-type]


@process(
    "filter_temporal",
    categories=_FILTER,
    exceptions={
        "DimensionNotAvailable": "The named temporal dimension does not exist.",
        "TemporalExtentEmpty": "The temporal extent is empty.",
    },
)
def filter_temporal(
    data: TemporalCube,
    extent: Annotated[
        Any,
        Param(
            {
                "type": "array",
                "subtype": "temporal-interval",
                "minItems": 2,
                "maxItems": 2,
                "items": TEMPORAL_INTERVAL_ITEMS,
                "examples": TEMPORAL_INTERVAL_EXAMPLES,
            }
        ),
    ],
    dimension: str | None = None,
) -> Annotated[Any, Param(TEMPORAL_CUBE)]:
    """Keep the time steps inside a half-open interval.

    The start is included, the end excluded; either end may be null (open).

    Args:
        data: A data cube with a temporal dimension.
        extent: `[start, end)` as dates or date-times.
        dimension: The temporal dimension to filter; null filters every temporal
            dimension.

    Returns:
        The cube with only the time steps in the interval (possibly none).
    """
    cube = ensure_cube(data, "filter_temporal")
    start, end = temporal_interval(extent, "filter_temporal")
    if dimension is not None:
        dims = [require_dimension(cube, dimension)]
    else:
        dims = dims_of_type(cube, "temporal")
        if not dims:
            raise DimensionNotAvailable(
                dimension="(temporal)", available=", ".join(map(str, cube.dims))
            )
    selection: dict[str, np.ndarray] = {}
    for dim in dims:
        times = pd.DatetimeIndex(label_values(cube, dim))
        keep = np.ones(len(times), dtype=bool)
        if start is not None:
            keep &= times >= start
        if end is not None:
            keep &= times < end
        selection[dim] = np.flatnonzero(keep)
    return cube.isel(selection)


@process(
    "filter_bands",
    categories=_FILTER,
    exceptions={
        "BandFilterParameterMissing": "Neither bands nor wavelengths were given.",
        "DimensionMissing": "The cube has no bands dimension.",
    },
)
def filter_bands(
    data: Annotated[Any, Param(datacube({"type": "bands"}))],
    bands: Annotated[
        Any, Param({"type": "array", "items": {"type": "string", "subtype": "band-name"}})
    ] = [],  # noqa: B006 - published default, never mutated
    wavelengths: Annotated[
        Any,
        Param(
            {
                "type": "array",
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": {"type": "number"},
                    "examples": [[[0.45, 0.5], [0.6, 0.7]]],
                },
            }
        ),
    ] = [],  # noqa: B006 - published default, never mutated
) -> Annotated[Any, Param(datacube({"type": "bands"}))]:
    """Keep some bands, by name, common name or wavelength range.

    A band is kept when any criterion matches it. The result follows the order of
    the criteria; bands matched by one criterion (a common name or a wavelength range
    shared by several bands) keep their order in the cube. A band name wins over a
    common name of another band.

    Args:
        data: A data cube with one bands dimension.
        bands: Band names or common names (`B04`, `red`, `nir`, ...).
        wavelengths: `[min, max]` ranges of centre wavelengths in micrometres.

    Returns:
        The cube with only the selected bands.
    """
    cube = ensure_cube(data, "filter_bands")
    if not bands and not wavelengths:
        raise BandFilterParameterMissing()
    dim = band_dimension(cube)
    names = [str(v) for v in label_values(cube, dim)]
    info = band_info(cube)
    chosen: list[int] = []

    def take(positions: list[int]) -> None:
        chosen.extend(p for p in positions if p not in chosen)

    for wanted in bands or []:
        if wanted in names:
            take([names.index(wanted)])
        else:
            take([i for i, n in enumerate(names) if info.get(n, {}).get("common_name") == wanted])
    for low, high in wavelengths or []:
        take(
            [
                i
                for i, n in enumerate(names)
                if (w := info.get(n, {}).get("center_wavelength")) is not None
                and low <= float(w) <= high
            ]
        )
    return cube.isel({dim: np.asarray(chosen, dtype=int)})


_LABEL_CONDITION = callback_schema(
    [
        cb_param("value", "A dimension label.", [{"type": "number"}, {"type": "string"}]),
        cb_param("context", "Extra data passed to the process.", {}, default=None),
    ],
    {"type": "boolean"},
    "Whether to keep the label.",
)


@process(
    "filter_labels",
    categories=_FILTER,
    exceptions={"DimensionNotAvailable": "The dimension does not exist."},
)
def filter_labels(
    data: Cube,
    condition: Annotated[Callback, Param(_LABEL_CONDITION)],
    dimension: str,
    context: Context = None,
) -> Annotated[Any, Param(CUBE)]:
    """Keep the labels of a dimension for which a condition holds.

    The condition runs once per label (labels are few; the data is never touched).
    Time labels are passed as RFC 3339 strings.

    Args:
        data: A data cube.
        condition: Receives a label as `value` and returns true to keep it.
        dimension: The dimension whose labels are filtered.
        context: Extra data passed to the condition.

    Returns:
        The cube with the kept labels only, in their original order.
    """
    cube = ensure_cube(data, "filter_labels")
    require_dimension(cube, dimension)
    keep = [
        i
        for i, label in enumerate(labels(cube, dimension))
        if _truth(condition(value=label, context=context))
    ]
    return cube.isel({dimension: np.asarray(keep, dtype=int)})


def _truth(value: Any) -> bool:
    """A condition's result as a Python bool (null counts as false)."""
    if isinstance(value, (np.ndarray, np.generic, xr.DataArray)):
        value = np.asarray(value).item()
    return value is True or value == 1


@register_rule("filter_spatial")
def _filter_spatial_narrowing(arguments: Mapping[str, Any]) -> Narrowing | None:
    return geometry_narrowing(arguments.get("geometries"))


@process("filter_spatial", categories=_FILTER)
def filter_spatial(
    data: RasterCube,
    geometries: Annotated[
        Any, Param([VECTOR, {"type": "object", "subtype": "geojson", "deprecated": True}])
    ],
) -> Annotated[Any, Param(RASTER)]:
    """Keep the pixels covered by geometries.

    The cube is cut to the geometries' bounding box; inside it, a pixel whose centre
    no geometry covers becomes null.

    Args:
        data: A raster data cube.
        geometries: Polygons as a vector cube or GeoJSON (any CRS of a vector cube;
            GeoJSON is EPSG:4326).

    Returns:
        The cube restricted to the geometries.
    """
    cube = ensure_cube(data, "filter_spatial")
    return mask_outside(cube, geometry_set(geometries, "filter_spatial", "geometries"))

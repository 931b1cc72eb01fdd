"""Getting cubes in and out: ``load_collection``, ``load_result`` and ``save_result``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.engine import rfc3339
from eostation.engine.context import EvalContext
from eostation.engine.cube import ensure_cube, is_empty, label_values
from eostation.engine.processes.cubes.geometries import geometry_set, mask_outside
from eostation.engine.processes.cubes.schemas import (
    BBOX,
    CUBE,
    TEMPORAL_INTERVAL_EXAMPLES,
    TEMPORAL_INTERVAL_ITEMS,
    Cube,
    datacube,
)
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import DataCubeEmpty, ProcessParameterInvalid, TemporalExtentEmpty

__all__ = ["load_collection", "load_result", "load_stac", "save_result", "temporal_interval"]

_IMPORT = ("cubes", "import")

_SPATIAL_EXTENT = [
    BBOX,
    {"type": "object", "subtype": "geojson", "deprecated": True},
    datacube({"type": "geometry"}),
    {"type": "null"},
]
_TEMPORAL_EXTENT = [
    {
        "type": "array",
        "subtype": "temporal-interval",
        "uniqueItems": True,
        "minItems": 2,
        "maxItems": 2,
        "items": TEMPORAL_INTERVAL_ITEMS,
        "examples": TEMPORAL_INTERVAL_EXAMPLES,
    },
    {"type": "null"},
]
_BANDS = [
    {"type": "array", "minItems": 1, "items": {"type": "string", "subtype": "band-name"}},
    {"type": "null"},
]
_PROPERTIES = [
    {
        "type": "object",
        "subtype": "metadata-filter",
        "additionalProperties": {
            "type": "object",
            "subtype": "process-graph",
            "parameters": [{"name": "value", "description": "The property value.", "schema": {}}],
            "returns": {"description": "Whether to keep the item.", "schema": {"type": "boolean"}},
        },
    },
    {"type": "null"},
]


def _timestamp(value: str, process: str, parameter: str) -> pd.Timestamp:
    try:
        return rfc3339.timestamp(value)
    except ValueError as exc:
        raise ProcessParameterInvalid(
            process=process, parameter=parameter, reason=str(exc)
        ) from exc


def temporal_interval(
    extent: Any, process: str, parameter: str = "extent"
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """A half-open ``[start, end)`` interval as UTC-naive timestamps (None = open).

    Raises ``TemporalExtentEmpty`` when the end is not after the start and
    ``ProcessParameterInvalid`` for malformed intervals (both ends null, wrong length).
    """
    if not isinstance(extent, (list, tuple)) or len(extent) != 2:
        raise ProcessParameterInvalid(
            process=process, parameter=parameter, reason="expected [start, end]."
        )
    start, end = (None if v is None else _timestamp(str(v), process, parameter) for v in extent)
    if start is None and end is None:
        raise ProcessParameterInvalid(
            process=process, parameter=parameter, reason="at most one end may be null."
        )
    if start is not None and end is not None and end <= start:
        raise TemporalExtentEmpty(start=extent[0], end=extent[1])
    return start, end


def _spatial_request(extent: Any) -> dict[str, Any]:
    """``LoadRequest`` fields for a ``spatial_extent`` argument."""
    if extent is None:
        return {}
    if isinstance(extent, Mapping) and {"west", "south", "east", "north"} <= set(extent):
        crs = extent.get("crs", 4326)
        bbox = tuple(float(extent[k]) for k in ("west", "south", "east", "north"))
        return {"bbox": bbox, "crs": 4326 if crs is None else crs}
    geoms = geometry_set(extent, "load_collection", "spatial_extent")
    bounds = geoms.bounds()
    if bounds is None:
        raise ProcessParameterInvalid(
            process="load_collection",
            parameter="spatial_extent",
            reason="the geometries are empty.",
        )
    out: dict[str, Any] = {"bbox": bounds, "crs": 4326}
    if isinstance(extent, Mapping):
        out["geometry"] = dict(extent)
    return out


@process(
    "load_collection",
    categories=_IMPORT,
    exceptions={
        "NoDataAvailable": "Nothing matches the extents and filters.",
        "TemporalExtentEmpty": "The temporal extent is empty.",
    },
    hidden=("featureflags",),
)
def load_collection(
    id_: Annotated[
        str, Param({"type": "string", "subtype": "collection-id", "pattern": "^[\\w\\-\\.~/]+$"})
    ],
    spatial_extent: Annotated[Any, Param(_SPATIAL_EXTENT)],
    temporal_extent: Annotated[Any, Param(_TEMPORAL_EXTENT)],
    bands: Annotated[Any, Param(_BANDS)] = None,
    properties: Annotated[Any, Param(_PROPERTIES)] = None,
    *,
    featureflags: Mapping[str, Any] | None = None,
    env: EvalContext,
) -> Annotated[Any, Param(CUBE)]:
    """Load a collection as a lazy data cube.

    Only what the extents, bands and property filters select is read. A bounding box
    may carry its own `crs`; with geometries the cube covers their bounding box and
    pixels outside every polygon become null. The temporal extent is half-open (the
    end is excluded) and either end may be open. Bands are named by their name or by
    their common name (`red`, `nir`, ...).

    Args:
        id: The collection id, as `GET /collections` lists it.
        spatial_extent: A bounding box, GeoJSON geometries, a vector cube, or null to
            load everything.
        temporal_extent: `[start, end)`, either end may be null; null loads all dates.
        bands: Band names or common names, in the order wanted; null keeps all bands.
        properties: Conditions on item metadata: each property name maps to a process
            that receives the property `value` and returns whether to keep the item.

    Returns:
        A data cube with the collection's dimensions.
    """
    request: dict[str, Any] = _spatial_request(spatial_extent)
    if temporal_extent is not None:
        temporal_interval(temporal_extent, "load_collection", "temporal_extent")
        request["temporal"] = tuple(None if v is None else str(v) for v in temporal_extent)
    if bands is not None:
        request["bands"] = [str(b) for b in bands]
    if properties:
        request["properties"] = {
            name: _property_test(condition) for name, condition in properties.items()
        }
    if featureflags:
        request["options"] = dict(featureflags)
    cube = env.load_collection(id_, LoadRequest(**request))
    if "bands" in cube.dims:
        # A band asked for twice (by name and by common name) is loaded once.
        _, first = np.unique(label_values(cube, "bands"), return_index=True)
        if first.size < cube.sizes["bands"]:
            cube = cube.isel(bands=np.sort(first))
    geometry = request.get("geometry")
    if geometry is not None:
        cube = mask_outside(cube, geometry_set(geometry, "load_collection", "spatial_extent"))
    return cube


def _property_test(condition: Any) -> Any:
    """A metadata filter callback as ``value -> bool`` for the data layer."""
    if not callable(condition):
        return lambda value, expected=condition: value == expected

    def test(value: Any) -> bool:
        result = condition(value=value)
        return bool(result) if result is not None else False

    return test


_STAC_SPATIAL_EXTENT = [
    BBOX,
    {"type": "object", "subtype": "geojson"},
    datacube({"type": "geometry"}),
    {"type": "null"},
]
# A results URL of a job on this back-end: its files are read directly (no HTTP round trip).
_OWN_JOB_RESULTS = re.compile(r"/openeo/1\.2/jobs/(?P<job>[\w\-.~]+)/results/?$")


@process(
    "load_stac",
    categories=_IMPORT,
    experimental=True,
    exceptions={
        "NoDataAvailable": "No item matches the extents and filters.",
        "TemporalExtentEmpty": "The temporal extent is empty.",
        "PropertiesUnsupported": "A property cannot be filtered on.",
    },
)
def load_stac(
    url: Annotated[
        str, Param({"type": "string", "format": "uri", "subtype": "uri", "pattern": "^https?://"})
    ],
    spatial_extent: Annotated[Any, Param(_STAC_SPATIAL_EXTENT)] = None,
    temporal_extent: Annotated[Any, Param(_TEMPORAL_EXTENT)] = None,
    bands: Annotated[Any, Param(_BANDS)] = None,
    properties: Annotated[Any, Param(_PROPERTIES)] = None,
    *,
    env: EvalContext,
) -> Annotated[Any, Param(CUBE)]:
    """Load data from a STAC catalogue, collection or item, or a STAC API collection.

    Items are searched by the extents and property filters, their assets loaded on the
    items' own grid. A URL of a batch job's results on this back-end
    (`.../jobs/{id}/results`) loads that job's files.

    Args:
        url: URL of a static STAC catalogue, collection or item, or of a STAC API
            collection (`.../collections/{id}`).
        spatial_extent: A bounding box, GeoJSON geometries, a vector cube, or null.
        temporal_extent: `[start, end)`, either end may be null; null keeps all dates.
        bands: Asset keys or band names, in the order wanted; null loads all.
        properties: Conditions on item properties: each property name maps to a process
            that receives the property `value` and returns whether to keep the item.

    Returns:
        A data cube with dimensions `t`, `bands`, `y`, `x`.
    """
    own = _OWN_JOB_RESULTS.search(url.split("?")[0])
    if own is not None:
        cube = ensure_cube(env.load_result(own.group("job")), "load_stac", "url")
    else:
        # Imported here: odc-stac and pystac load only when a graph calls load_stac.
        from eostation.data.stac import load_stac as stac_loader

        request = _spatial_request(spatial_extent)
        interval = None
        if temporal_extent is not None:
            temporal_interval(temporal_extent, "load_stac", "temporal_extent")
            interval = tuple(None if v is None else str(v) for v in temporal_extent)
        cube = stac_loader(
            url,
            spatial_extent=request.get("geometry") or request.get("bbox"),
            temporal_extent=interval,  # type: ignore[arg-type]
            bands=None if bands is None else [str(b) for b in bands],
            properties=None
            if not properties
            else {name: _property_test(test) for name, test in properties.items()},
            spatial_crs=request.get("crs", 4326),
            outbound=env.limits.outbound,
        )
    if own is not None and bands is not None:
        cube = cube.sel(bands=[str(b) for b in bands])
    return cube


@process(
    "load_result",
    categories=_IMPORT,
    experimental=True,
    exceptions={"JobNotFound": "No finished batch job has this id."},
)
def load_result(
    id_: Annotated[
        str, Param({"type": "string", "subtype": "job-id", "pattern": "^[\\w\\-\\.~]+$"})
    ],
    *,
    env: EvalContext,
) -> Annotated[Any, Param(CUBE)]:
    """Load the result of one of your finished batch jobs as a data cube.

    Args:
        id: The id of a batch job whose status is `finished`.

    Returns:
        The job's result as a lazy data cube.
    """
    return ensure_cube(env.load_result(id_), "load_result", "id")


@process(
    "save_result",
    categories=("cubes", "export", "stac"),
    exceptions={
        "FormatUnsuitable": "The data cannot be stored in this format.",
        "DataCubeEmpty": "The format cannot store an empty data cube.",
    },
)
def save_result(
    data: Cube,
    format_: Annotated[str, Param({"type": "string", "subtype": "output-format"})],
    options: Annotated[Any, Param({"type": "object", "subtype": "output-format-options"})] = {},  # noqa: B006 - published default, never mutated
    *,
    env: EvalContext,
) -> Annotated[bool, Param({"type": "object", "subtype": "stac"})]:
    """Save data in a file format once the process graph has run.

    The format and its options are checked right away; the files are written after
    the evaluation (for a batch job, into its results; for a synchronous request, into
    the response).

    Args:
        data: The data to store.
        format: A name listed by `GET /file_formats` (output), case-insensitive.
        options: Options of that format, as `GET /file_formats` describes them.

    Returns:
        True once the output is scheduled.
    """
    name, checked = env.output_format(format_, dict(options or {}))
    if isinstance(data, xr.DataArray) and is_empty(data) and name.lower() in _NO_EMPTY:
        raise DataCubeEmpty(format=name)
    env.results.append((data, name, checked))
    return True


_NO_EMPTY = frozenset({"gtiff", "cog", "png"})
"""Raster formats that cannot hold a cube with no cells."""

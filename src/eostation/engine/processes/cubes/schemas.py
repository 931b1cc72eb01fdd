"""JSON schemas shared by the cube processes' parameters and return values."""

from __future__ import annotations

from typing import Annotated, Any

from eostation.engine.schema import Param

__all__ = [
    "BBOX",
    "CRS_CODES",
    "CUBE",
    "RASTER",
    "SPATIAL_XY",
    "TEMPORAL_CUBE",
    "TEMPORAL_INTERVAL_ITEMS",
    "VECTOR",
    "Cube",
    "RasterCube",
    "TemporalCube",
    "VectorCube",
    "datacube",
]


def datacube(*dimensions: dict[str, Any]) -> dict[str, Any]:
    """A ``datacube`` schema, optionally requiring dimensions (``{"type": "spatial", ...}``)."""
    schema: dict[str, Any] = {"type": "object", "subtype": "datacube"}
    if dimensions:
        schema["dimensions"] = list(dimensions)
    return schema


SPATIAL_XY: dict[str, Any] = {"type": "spatial", "axis": ["x", "y"]}
CUBE = datacube()
RASTER = datacube(SPATIAL_XY)
TEMPORAL_CUBE = datacube({"type": "temporal"})
VECTOR = datacube({"type": "geometry"})

Cube = Annotated[Any, Param(CUBE)]
RasterCube = Annotated[Any, Param(RASTER)]
TemporalCube = Annotated[Any, Param(TEMPORAL_CUBE)]
VectorCube = Annotated[Any, Param(VECTOR)]

CRS_CODES: list[dict[str, Any]] = [
    {"type": "integer", "subtype": "epsg-code", "minimum": 1000, "examples": [3857]},
    {"type": "string", "subtype": "wkt2-definition"},
]
"""An EPSG code or a WKT2 definition (the alternatives of a ``crs`` parameter)."""
CRS_SCHEMA: dict[str, Any] = {"anyOf": CRS_CODES, "default": 4326}
BBOX: dict[str, Any] = {
    "type": "object",
    "subtype": "bounding-box",
    "required": ["west", "south", "east", "north"],
    "properties": {
        "west": {"type": "number"},
        "south": {"type": "number"},
        "east": {"type": "number"},
        "north": {"type": "number"},
        "base": {"type": ["number", "null"], "default": None},
        "height": {"type": ["number", "null"], "default": None},
        "crs": CRS_SCHEMA,
    },
}
TEMPORAL_INTERVAL_ITEMS: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date-time", "subtype": "date-time"},
        {"type": "string", "format": "date", "subtype": "date"},
        {"type": "null"},
    ]
}
TEMPORAL_INTERVAL_EXAMPLES: list[list[str]] = [
    ["2015-01-01T00:00:00Z", "2016-01-01T00:00:00Z"],
    ["2015-01-01", "2016-01-01"],
]
RESAMPLING_METHODS: list[str] = [
    "average", "bilinear", "cubic", "cubicspline", "lanczos", "max", "med",
    "min", "mode", "near", "q1", "q3", "rms", "sum",
]  # fmt: skip

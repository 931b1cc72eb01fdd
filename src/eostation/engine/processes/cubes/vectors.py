"""Vector cube processes: ``load_geojson``, ``vector_buffer``, ``vector_reproject``,
``filter_vector``, ``vector_to_regular_points`` and ``vector_to_random_points``.

A vector cube is a DataArray along ``geometries`` (see :mod:`.geometries`). Processes
that change geometries keep the other dimensions and the feature properties. Distances
are in the units of the cube's CRS; a geographic CRS has no metre unit, so distances
there raise ``UnitMismatch`` (reproject first).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pyproj
import shapely
import xarray as xr

from eostation.engine.processes.cubes.geometries import (
    GEOMETRIES_DIM,
    GeometrySet,
    geometry_set,
    object_array,
    vector_cube,
)
from eostation.engine.processes.cubes.schemas import CRS_CODES, VectorCube, datacube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import DimensionNotAvailable, ProcessParameterInvalid

__all__ = [
    "filter_vector",
    "load_geojson",
    "vector_buffer",
    "vector_reproject",
    "vector_to_random_points",
    "vector_to_regular_points",
]

PointCube = Annotated[
    Any, Param(datacube({"type": "geometry", "geometry_type": ["Point", "MultiPoint"]}))
]


def _rebuild(source: GeometrySet, geoms: list[Any], keep: np.ndarray | None = None) -> xr.DataArray:
    """A vector cube of new geometries, with the source's values and properties."""
    cube = source.source
    props = source.properties if keep is None else [source.properties[i] for i in keep]
    new = GeometrySet(object_array(geoms), source.crs, props)
    if cube is None:
        return vector_cube(new)
    values = cube if keep is None else cube.isel({GEOMETRIES_DIM: keep})
    others = {
        d: values.coords[d] for d in values.dims if d != GEOMETRIES_DIM and d in values.coords
    }
    return vector_cube(new, values.data, dims=values.dims, coords=others, attrs=values.attrs)


def _metric(source: GeometrySet, process_id: str) -> None:
    if source.crs.is_geographic:
        raise ProcessParameterInvalid(
            process=process_id,
            parameter="distance",
            reason="distances are in metres but the geometries are in a geographic CRS; "
            "use vector_reproject first",
            exception="UnitMismatch",
        )


@process("load_geojson", categories=("import", "vector"), experimental=True)
def load_geojson(
    data: Annotated[Any, Param({"type": "object", "subtype": "geojson"})],
    properties: Annotated[
        list[str], Param({"type": "array", "uniqueItems": True, "items": {"type": "string"}})
    ] = [],  # noqa: B006  (spec default; never mutated)
) -> VectorCube:
    """Turn GeoJSON into a vector cube (one geometry per Feature or geometry).

    Args:
        data: GeoJSON: a geometry, Feature, FeatureCollection or GeometryCollection.
        properties: Feature properties to load as values, along a new `properties`
            dimension; without, the cube holds one no-data value per geometry.

    Returns:
        A vector cube in EPSG:4326 (or the GeoJSON's legacy `crs`).
    """
    found = geometry_set(data, "load_geojson", "data")
    if not properties:
        return vector_cube(found)
    values = np.asarray(
        [[p.get(name) for name in properties] for p in found.properties], dtype=object
    )
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.ravel()):
        values = values.astype(float)
    return vector_cube(
        found, values, dims=(GEOMETRIES_DIM, "properties"), coords={"properties": list(properties)}
    )


@process("vector_buffer", categories=("vector",), experimental=True)
def vector_buffer(
    geometries: VectorCube,
    distance: Annotated[float, Param({"type": "number", "not": {"const": 0}})],
) -> VectorCube:
    """Grow (positive distance) or shrink (negative) every geometry by a distance.

    Args:
        geometries: A vector cube in a projected CRS.
        distance: The distance in the CRS's units (metres for UTM); not zero.

    Returns:
        The buffered geometries (polygons); shrinking may leave empty geometries.
    """
    source = geometry_set(geometries, "vector_buffer", "geometries")
    _metric(source, "vector_buffer")
    return _rebuild(source, list(shapely.buffer(source.geometries, float(distance))))


@process(
    "vector_reproject",
    categories=("cubes", "reproject", "vector"),
    experimental=True,
    exceptions={"DimensionNotAvailable": "The geometry dimension does not exist."},
)
def vector_reproject(
    data: VectorCube,
    projection: Annotated[Any, Param(CRS_CODES)],
    dimension: str | None = None,
) -> VectorCube:
    """Reproject the geometries of a vector cube to another CRS.

    Args:
        data: A vector cube.
        projection: The target CRS: an EPSG code or WKT2.
        dimension: The geometry dimension; by default `geometries`.

    Returns:
        The vector cube with its geometries in the new CRS.
    """
    if dimension is not None and dimension != GEOMETRIES_DIM:
        raise DimensionNotAvailable(dimension=dimension, available=GEOMETRIES_DIM)
    source = geometry_set(data, "vector_reproject", "data")
    moved = source.to_crs(pyproj.CRS.from_user_input(projection))
    cube = _rebuild(source, list(moved.geometries))
    return cube.xvec.set_geom_indexes(GEOMETRIES_DIM, crs=moved.crs, allow_override=True)


_RELATIONS = (
    "intersects",
    "disjoint",
    "equals",
    "touches",
    "crosses",
    "overlaps",
    "contains",
    "within",
)


@process("filter_vector", categories=("cubes", "filter", "vector"), experimental=True)
def filter_vector(
    data: VectorCube,
    geometries: VectorCube,
    relation: Annotated[str, Param({"type": "string", "enum": list(_RELATIONS)})] = "intersects",
) -> VectorCube:
    """Keep the geometries that stand in a spatial relation to any of the given geometries.

    Args:
        data: The vector cube to filter.
        geometries: The geometries to compare with (reprojected to the cube's CRS).
        relation: `intersects`, `disjoint`, `equals`, `touches`, `crosses`, `overlaps`,
            `contains` or `within` (read as: kept geometry *relation* given geometry).

    Returns:
        The vector cube with the matching geometries only.
    """
    source = geometry_set(data, "filter_vector", "data")
    others = geometry_set(geometries, "filter_vector", "geometries").to_crs(source.crs)
    other = shapely.union_all(others.geometries)
    if relation == "disjoint":
        hit = shapely.disjoint(source.geometries, other)
    else:
        test = getattr(shapely, relation)
        hit = np.zeros(len(source), dtype=bool)
        for g in others.geometries:
            hit |= test(source.geometries, g)
    keep = np.flatnonzero(hit)
    return _rebuild(source, [source.geometries[i] for i in keep], keep)


@process("vector_to_regular_points", categories=("cubes", "vector"), experimental=True)
def vector_to_regular_points(
    data: VectorCube,
    distance: Annotated[float, Param({"type": "number", "minimumExclusive": 0})],
    group: bool = True,
) -> PointCube:
    """Sample each geometry with points at a regular spacing.

    Polygons get a square grid of points (spacing `distance`, centred on the polygon's
    bounds) kept where inside; lines get points every `distance` along them; points stay.

    Args:
        data: A vector cube in a projected CRS.
        distance: The spacing in the CRS's units.
        group: One MultiPoint per geometry (true) or one Point per sample (false).

    Returns:
        A vector cube of points.
    """
    source = geometry_set(data, "vector_to_regular_points", "data")
    _metric(source, "vector_to_regular_points")
    step = float(distance)
    samples = [_regular(g, step) for g in source.geometries]
    return _points(source, samples, group)


def _coordinates(geometry: Any) -> np.ndarray:
    """The ``(n, 2)`` coordinates of a geometry (shapely is untyped)."""
    coords: np.ndarray = shapely.get_coordinates(geometry)
    return coords


def _regular(geometry: Any, step: float) -> np.ndarray:
    if geometry is None or shapely.is_empty(geometry):
        return np.empty((0, 2))
    dim = shapely.get_dimensions(geometry)
    if dim == 0:
        return _coordinates(geometry)
    if dim == 1:
        length = shapely.length(geometry)
        at = np.arange(0.0, length + 1e-9, step)
        return _coordinates(shapely.line_interpolate_point(geometry, at))
    minx, miny, maxx, maxy = shapely.bounds(geometry)
    xs = np.arange(minx + ((maxx - minx) % step) / 2, maxx + 1e-9, step)
    ys = np.arange(miny + ((maxy - miny) % step) / 2, maxy + 1e-9, step)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.intersects_xy(geometry, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


def _points(source: GeometrySet, samples: list[np.ndarray], group: bool) -> xr.DataArray:
    if group:
        return _rebuild(
            source, [shapely.multipoints(s) if len(s) else shapely.MultiPoint() for s in samples]
        )
    owner = np.repeat(np.arange(len(samples)), [len(s) for s in samples])
    coords = np.concatenate(samples) if samples else np.empty((0, 2))
    points = list(shapely.points(coords)) if len(coords) else []
    return _rebuild(source, points, owner)


@process(
    "vector_to_random_points",
    categories=("cubes", "vector"),
    experimental=True,
    exceptions={"CountMismatch": "total_count is smaller than the number of geometries."},
)
def vector_to_random_points(
    data: VectorCube,
    geometry_count: Annotated[
        Any, Param([{"type": "integer", "minimum": 1}, {"type": "null"}])
    ] = None,
    total_count: Annotated[
        Any, Param([{"type": "integer", "minimum": 1}, {"type": "null"}])
    ] = None,
    group: bool = True,
    seed: int | None = None,
) -> PointCube:
    """Sample each geometry with uniformly random points (reproducible with a seed).

    Points fall inside polygons, on lines, or on the given points. With `total_count`, the
    total is spread over the geometries as evenly as possible; with `geometry_count`, each
    geometry gets that many (capped by `total_count` when both are given).

    Args:
        data: A vector cube.
        geometry_count: Points per geometry.
        total_count: Points over all geometries; at least one per geometry.
        group: One MultiPoint per geometry (true) or one Point per sample (false).
        seed: Seed of the random generator; null for non-reproducible points.

    Returns:
        A vector cube of points.
    """
    source = geometry_set(data, "vector_to_random_points", "data")
    n = len(source)
    if total_count is not None and total_count < n and geometry_count is None:
        raise ProcessParameterInvalid(
            process="vector_to_random_points",
            parameter="total_count",
            reason=f"{total_count} points cannot cover {n} geometries",
            exception="CountMismatch",
        )
    counts = np.full(n, geometry_count if geometry_count is not None else 1, dtype=int)
    if total_count is not None:
        if geometry_count is None:
            counts = np.full(n, total_count // n) + (np.arange(n) < total_count % n)
        else:
            even = np.diff(np.linspace(0, total_count, n + 1).astype(int))
            counts = np.minimum(counts, even)
    rng = np.random.default_rng(seed)
    samples = [_random(g, int(c), rng) for g, c in zip(source.geometries, counts, strict=True)]
    return _points(source, samples, group)


def _random(geometry: Any, count: int, rng: np.random.Generator) -> np.ndarray:
    if geometry is None or shapely.is_empty(geometry) or count == 0:
        return np.empty((0, 2))
    dim = shapely.get_dimensions(geometry)
    if dim == 0:
        coords = _coordinates(geometry)
        return coords[rng.integers(0, len(coords), count)]
    if dim == 1:
        at = rng.uniform(0, shapely.length(geometry), count)
        return _coordinates(shapely.line_interpolate_point(geometry, at))
    minx, miny, maxx, maxy = shapely.bounds(geometry)
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        batch = max(64, 2 * (count - have))
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(batch, 2))
        xy = xy[shapely.contains_xy(geometry, xy[:, 0], xy[:, 1])]
        found.append(xy)
        have += len(xy)
    return np.concatenate(found)[:count]

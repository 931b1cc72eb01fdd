"""Geometries as cube processes receive them, and vector cubes as they return them.

A process argument holding geometries may be GeoJSON (a geometry, ``Feature``,
``FeatureCollection`` or ``GeometryCollection``), a vector cube (an
``xarray.DataArray`` with a ``geometries`` dimension indexed by xvec), a shapely
geometry or a GeoDataFrame. :func:`geometry_set` turns any of these into a
:class:`GeometrySet`: shapely geometries, their CRS and per-feature properties.
:func:`vector_cube` builds the DataArray that vector-cube processes return.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pyproj
import shapely
import xarray as xr
import xvec  # noqa: F401  (registers the ``.xvec`` accessor)
from numpy.typing import NDArray

from eostation.engine.grid import clip_to_bounds, inside_mask
from eostation.engine.grid import crs as grid_crs
from eostation.engine.lonlat import check_lonlat
from eostation.errors import ProcessParameterInvalid

__all__ = [
    "GEOMETRIES_DIM",
    "GeometrySet",
    "cube_crs",
    "geometry_set",
    "mask_outside",
    "object_array",
    "vector_cube",
]

GEOMETRIES_DIM = "geometries"
WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass(frozen=True)
class GeometrySet:
    """Shapely geometries in one CRS, with one property mapping per geometry."""

    geometries: NDArray[np.object_]
    crs: pyproj.CRS = WGS84
    properties: list[dict[str, Any]] = field(default_factory=list)
    source: xr.DataArray | None = None
    """The vector cube these came from, when they came from one."""

    def __len__(self) -> int:
        return len(self.geometries)

    def to_crs(self, crs: Any) -> GeometrySet:
        """The same geometries reprojected to ``crs`` (unchanged when already there)."""
        target = pyproj.CRS.from_user_input(crs)
        if target == self.crs:
            return self
        transformer = pyproj.Transformer.from_crs(self.crs, target, always_xy=True)
        moved = shapely.transform(
            self.geometries,
            lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
        )
        return GeometrySet(np.asarray(moved, dtype=object), target, self.properties, self.source)

    def bounds(self, crs: Any = WGS84) -> tuple[float, float, float, float] | None:
        """``(west, south, east, north)`` of all non-empty geometries in ``crs``."""
        geoms = self.to_crs(crs).geometries
        geoms = geoms[~shapely.is_empty(geoms)]
        if len(geoms) == 0:
            return None
        b = shapely.total_bounds(geoms)
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def cube_crs(cube: xr.DataArray) -> pyproj.CRS:
    """The CRS of a raster cube (odc-geo, else a ``crs`` attribute), EPSG:4326 if none."""
    crs = grid_crs(cube)
    if crs is not None:
        return pyproj.CRS.from_user_input(crs.to_wkt())
    for holder in (cube.attrs, *(c.attrs for c in cube.coords.values())):
        for key in ("crs", "crs_wkt", "spatial_ref"):
            if isinstance(holder.get(key), (str, int)):
                return pyproj.CRS.from_user_input(holder[key])
    return WGS84


def _vector_crs(cube: xr.DataArray) -> pyproj.CRS:
    index = cube.xindexes.get(GEOMETRIES_DIM)
    crs = getattr(index, "crs", None)
    if crs is not None:
        return pyproj.CRS.from_user_input(crs)
    if "crs" in cube.attrs:
        return pyproj.CRS.from_user_input(cube.attrs["crs"])
    return WGS84


def _from_geojson(value: Mapping[str, Any], process: str, parameter: str) -> GeometrySet:
    kind = value.get("type")
    crs = WGS84
    if isinstance(value.get("crs"), Mapping):  # legacy GeoJSON named CRS
        name = value["crs"].get("properties", {}).get("name")
        if name:
            crs = pyproj.CRS.from_user_input(name)
    if kind == "FeatureCollection":
        features = list(value.get("features") or [])
    elif kind == "Feature":
        features = [value]
    else:
        features = [{"type": "Feature", "geometry": value, "properties": {}}]
    geoms: list[Any] = []
    props: list[dict[str, Any]] = []
    for feature in features:
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise _invalid(process, parameter, "a FeatureCollection must hold Features")
        geometry = feature.get("geometry")
        try:
            geoms.append(
                shapely.from_geojson(_dumps(geometry)) if geometry else shapely.GeometryCollection()
            )
        except shapely.errors.GEOSException as exc:
            raise _invalid(process, parameter, f"invalid GeoJSON geometry: {exc}") from exc
        properties = dict(feature.get("properties") or {})
        if "id" in feature and "id" not in properties:
            properties["id"] = feature["id"]
        props.append(properties)
    return _in_range(GeometrySet(object_array(geoms), crs, props), process, parameter)


def _in_range(geometries: GeometrySet, process: str, parameter: str) -> GeometrySet:
    """``geometries``, refused when longitude/latitude coordinates leave the Earth."""
    if not geometries.crs.is_geographic or len(geometries) == 0:
        return geometries
    geoms = geometries.geometries[~shapely.is_empty(geometries.geometries)]
    if len(geoms) == 0:
        return geometries
    w, s, e, n = (float(v) for v in shapely.total_bounds(geoms))
    check_lonlat((w, s, e, n), process, parameter)
    return geometries


def object_array(values: Sequence[Any]) -> NDArray[np.object_]:
    """A 1-D object array of ``values`` (geometries are never unpacked by numpy)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _dumps(geometry: Any) -> str:
    return json.dumps(geometry)


def _invalid(process: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process, parameter=parameter, reason=reason)


def geometry_set(value: Any, process: str, parameter: str) -> GeometrySet:
    """Geometries from GeoJSON, a vector cube, a GeoDataFrame, shapely geometries or WKT."""
    if isinstance(value, GeometrySet):
        return value
    if isinstance(value, xr.DataArray) and GEOMETRIES_DIM in value.dims:
        geoms = np.asarray(value[GEOMETRIES_DIM].values, dtype=object)
        names = [
            str(n)
            for n, c in value.coords.items()
            if n != GEOMETRIES_DIM and c.dims == (GEOMETRIES_DIM,)
        ]
        props = [{n: value.coords[n].values[i].item() for n in names} for i in range(len(geoms))]
        return GeometrySet(geoms, _vector_crs(value), props, source=value)
    if isinstance(value, Mapping) and "type" in value:
        return _from_geojson(value, process, parameter)
    if hasattr(value, "geometry") and hasattr(value, "crs"):  # GeoDataFrame / GeoSeries
        frame = value
        crs = pyproj.CRS.from_user_input(frame.crs) if frame.crs is not None else WGS84
        geoms = np.asarray(frame.geometry.values, dtype=object)
        cols = [c for c in getattr(frame, "columns", []) if c != frame.geometry.name]
        props = [{c: frame[c].iloc[i] for c in cols} for i in range(len(geoms))]
        return GeometrySet(geoms, crs, props)
    if isinstance(value, shapely.Geometry):
        return _in_range(GeometrySet(object_array([value]), WGS84, [{}]), process, parameter)
    if isinstance(value, str):
        try:
            return geometry_set(shapely.from_wkt(value), process, parameter)
        except shapely.errors.GEOSException:
            pass
    raise _invalid(process, parameter, "expected GeoJSON or a vector data cube")


def vector_cube(
    geometries: GeometrySet,
    data: Any = None,
    dims: Sequence[Hashable] = (GEOMETRIES_DIM,),
    coords: Mapping[Hashable, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """A vector cube over ``geometries`` (xvec-indexed, CRS attached).

    ``data`` defaults to one NaN per geometry. Feature properties whose values are all
    strings, numbers or booleans become coordinates along ``geometries``.
    """
    if data is None:
        data = np.full(len(geometries), np.nan)
    all_coords: dict[Hashable, Any] = {GEOMETRIES_DIM: geometries.geometries}
    for name in _scalar_property_names(geometries.properties):
        all_coords[name] = (GEOMETRIES_DIM, [p.get(name) for p in geometries.properties])
    all_coords.update(coords or {})
    cube = xr.DataArray(data, dims=tuple(dims), coords=all_coords, attrs=dict(attrs or {}))
    return cast(xr.DataArray, cube.xvec.set_geom_indexes(GEOMETRIES_DIM, crs=geometries.crs))


def _scalar_property_names(properties: list[dict[str, Any]]) -> list[str]:
    if not properties:
        return []
    names: list[str] = []
    for name in properties[0]:
        if name == GEOMETRIES_DIM:
            continue
        values = [p.get(name) for p in properties]
        if all(isinstance(v, str) for v in values) or all(
            isinstance(v, (int, float, bool, np.number)) for v in values
        ):
            names.append(name)
    return names


def mask_outside(cube: xr.DataArray, geometries: GeometrySet) -> xr.DataArray:
    """``cube`` clipped to the geometries' bounding box, null where no geometry covers a
    pixel centre (lazy)."""
    target = grid_crs(cube)
    moved = geometries.to_crs(target) if target is not None else geometries
    clipped = clip_to_bounds(cube, moved.bounds(moved.crs))
    if clipped.size == 0:
        return clipped
    return clipped.where(inside_mask(clipped, list(moved.geometries)))

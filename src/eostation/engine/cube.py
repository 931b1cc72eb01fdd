"""Raster cubes as the cube processes see them: dimensions, labels, grid and bands.

Conventions (see "The datacube" in ARCHITECTURE.md):

- A raster cube is an ``xarray.DataArray``, lazy (dask) for real data. Its grid is
  held by odc-geo: :mod:`eostation.engine.grid` reads it (``cube.odc``).
- **Dimension types.** A dimension's openEO type (``spatial``, ``temporal``,
  ``bands``, ``geometry``, ``other``) is stored, when it must be explicit, in the
  attrs of its coordinate under :data:`TYPE_ATTR` (coordinate attrs survive
  arithmetic, ``where``, ``isel`` and ``concat``). Without it the type is inferred:
  ``x``/``y``/``z`` (and dims odc-geo calls spatial) are spatial, ``bands`` is bands,
  ``geometries`` is geometry, a datetime coordinate (or the name ``t``) is temporal,
  anything else is other. :func:`with_dimension_type` sets it.
- **Band metadata** travels in the attrs of the ``bands`` coordinate under
  :data:`BANDS_ATTR` (``"eo:bands"``): the STAC ``eo:bands`` entries (dicts with
  ``name`` and optionally ``common_name`` and ``center_wavelength`` in µm). Entries are
  looked up by band name, so selecting or reordering bands never has to update them;
  sources set it when they load (the demo source does; ``eostation.data.load`` fills it
  from the collection's ``summaries`` when a source does not).
- **Nodata.** Float cubes use NaN for null; ``cube.attrs["nodata"]`` may name the
  value an integer cube uses.
- **Time labels** are ``datetime64[ns]`` (UTC, naive); :func:`labels` renders them as
  RFC 3339 strings, as processes return them to users.

Helpers raise the openEO exceptions of :mod:`eostation.errors` that the process
specs declare (``DimensionNotAvailable``, ``DimensionAmbiguous``, ...).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from eostation.errors import (
    DimensionAmbiguous,
    DimensionMissing,
    DimensionNotAvailable,
    ProcessParameterInvalid,
)

__all__ = [
    "BANDS_ATTR",
    "DIMENSION_TYPES",
    "TYPE_ATTR",
    "band_dimension",
    "band_info",
    "carry_metadata",
    "dimension_type",
    "dims_of_type",
    "ensure_cube",
    "is_empty",
    "keep_all_dates_together",
    "label_values",
    "labels",
    "require_dimension",
    "resolve_band",
    "single_dimension",
    "spatial_dims",
    "to_datetime_labels",
    "with_band_info",
    "with_dimension_type",
]

DIMENSION_TYPES: Final[tuple[str, ...]] = ("spatial", "temporal", "bands", "geometry", "other")
TYPE_ATTR: Final = "openeo:type"
"""Coordinate attribute holding a dimension's openEO type when it is not inferable."""
BANDS_ATTR: Final = "eo:bands"
"""Attribute of the ``bands`` coordinate holding the STAC ``eo:bands`` entries."""

_SPATIAL_NAMES = frozenset({"x", "y", "z", "lon", "lat", "longitude", "latitude"})


# -- what a cube is ------------------------------------------------------------------------


def ensure_cube(value: Any, process: str, parameter: str = "data") -> xr.DataArray:
    """``value`` as a cube; ``ProcessParameterInvalid`` naming the parameter otherwise."""
    if not isinstance(value, xr.DataArray):
        raise ProcessParameterInvalid(
            process=process,
            parameter=parameter,
            reason=f"expected a data cube, got {type(value).__name__}.",
        )
    return value


def carry_metadata(result: xr.DataArray, source: xr.DataArray) -> xr.DataArray:
    """``result`` with the name and attrs of ``source`` (xarray drops them in reductions),
    and the attrs of its scalar coordinates (the CRS of ``spatial_ref``).

    Per-band attrs (``raster:bands``) are dropped when the result has no bands left.
    """
    attrs = dict(source.attrs)
    if "bands" not in result.dims:
        attrs.pop("raster:bands", None)
    result = result.copy(deep=False)
    result.attrs = {**attrs, **result.attrs}
    # Element-wise operations (``xr.where``) drop the attrs of scalar coordinates, among
    # them odc-geo's ``spatial_ref`` that holds the CRS: restore them from the source.
    lost = {
        name: coord
        for name, coord in source.coords.items()
        if coord.ndim == 0 and coord.attrs and name in result.coords
        and not result.coords[name].attrs
    }  # fmt: skip
    if lost:
        result = result.assign_coords(lost)
    if result.name is None:
        result.name = source.name
    return result


def is_empty(cube: xr.DataArray) -> bool:
    """Whether a cube holds no cell at all (some dimension has no label)."""
    return any(size == 0 for size in cube.shape)


# -- dimensions ----------------------------------------------------------------------------


def dimension_type(cube: xr.DataArray, dim: Hashable) -> str:
    """The openEO type of dimension ``dim`` (explicit attr first, then inferred)."""
    if dim in cube.coords:
        explicit = cube.coords[dim].attrs.get(TYPE_ATTR)
        if explicit in DIMENSION_TYPES:
            return str(explicit)
    name = str(dim)
    if name in _SPATIAL_NAMES:
        return "spatial"
    if name == "bands":
        return "bands"
    if name == "geometries":
        return "geometry"
    if name == "t":
        return "temporal"
    if dim in cube.coords and np.issubdtype(cube.coords[dim].dtype, np.datetime64):
        return "temporal"
    return "other"


def with_dimension_type(cube: xr.DataArray, dim: Hashable, kind: str) -> xr.DataArray:
    """``cube`` with the type of ``dim`` recorded explicitly (adds an index when missing)."""
    if dim not in cube.coords:
        cube = cube.assign_coords({dim: np.arange(cube.sizes[dim])})
    coord = cube.coords[dim].copy()
    coord.attrs = {**coord.attrs, TYPE_ATTR: kind}
    return cube.assign_coords({dim: coord})


def dims_of_type(cube: xr.DataArray, kind: str) -> list[str]:
    """Names of the dimensions of type ``kind``, in cube order."""
    return [str(d) for d in cube.dims if dimension_type(cube, d) == kind]


def require_dimension(cube: xr.DataArray, dimension: str) -> str:
    """``dimension`` when the cube has it; ``DimensionNotAvailable`` otherwise."""
    if dimension not in cube.dims:
        raise DimensionNotAvailable(
            dimension=dimension, available=", ".join(map(str, cube.dims)) or "none"
        )
    return dimension


def single_dimension(cube: xr.DataArray, kind: str, name: str | None = None) -> str:
    """The one dimension of type ``kind`` (or the named one, checked to exist).

    Raises ``DimensionMissing`` when there is none and ``DimensionAmbiguous`` when
    several qualify and no name was given.
    """
    if name is not None:
        return require_dimension(cube, name)
    found = dims_of_type(cube, kind)
    if not found:
        raise DimensionMissing(type=kind)
    if len(found) > 1:
        raise DimensionAmbiguous(count=len(found), type=kind, names=", ".join(found))
    return found[0]


def band_dimension(cube: xr.DataArray) -> str:
    """The bands dimension (``DimensionMissing``/``DimensionAmbiguous`` otherwise)."""
    return single_dimension(cube, "bands")


def spatial_dims(cube: xr.DataArray) -> tuple[str, str]:
    """``(y, x)`` dimension names of the cube's grid; ``DimensionMissing`` without one."""
    spatial = cube.odc.spatial_dims if hasattr(cube, "odc") else None
    if spatial is not None:
        return str(spatial[0]), str(spatial[1])
    if {"y", "x"} <= set(cube.dims):
        return "y", "x"
    raise DimensionMissing(type="spatial")


# -- labels --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.item() if isinstance(value, np.generic) else value


def labels(cube: xr.DataArray, dim: str) -> list[Any]:
    """Labels of ``dim`` as Python values; times as ``YYYY-MM-DDTHH:MM:SSZ`` strings.

    A dimension without a coordinate is labeled ``0..n-1``.
    """
    require_dimension(cube, dim)
    if dim not in cube.coords:
        return list(range(cube.sizes[dim]))
    return [_plain(v) for v in cube.coords[dim].values]


def label_values(cube: xr.DataArray, dim: str) -> np.ndarray:
    """The raw label array of ``dim`` (``0..n-1`` without a coordinate)."""
    if dim not in cube.coords:
        return np.arange(cube.sizes[dim])
    return np.asarray(cube.coords[dim].values)


def to_datetime_labels(values: Iterable[Any]) -> np.ndarray:
    """ISO 8601 strings (or datetimes) as UTC-naive ``datetime64[ns]`` labels."""
    out = []
    for value in values:
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        out.append(ts.to_datetime64())
    return np.asarray(out, dtype="datetime64[ns]")


# -- bands ---------------------------------------------------------------------------------


def band_info(cube: xr.DataArray) -> dict[str, dict[str, Any]]:
    """STAC ``eo:bands`` entries by band name (only what the cube carries)."""
    dim = "bands" if "bands" in cube.dims else None
    if dim is None:
        found = dims_of_type(cube, "bands")
        dim = found[0] if found else None
    if dim is None or dim not in cube.coords:
        return {}
    entries = cube.coords[dim].attrs.get(BANDS_ATTR) or []
    return {str(e["name"]): dict(e) for e in entries if isinstance(e, Mapping) and "name" in e}


def with_band_info(
    cube: xr.DataArray, entries: Iterable[Mapping[str, Any]], dim: str = "bands"
) -> xr.DataArray:
    """``cube`` with ``eo:bands`` entries added (new entries win over known ones by name)."""
    if dim not in cube.coords:
        return cube
    merged = band_info(cube)
    for entry in entries:
        if "name" in entry:
            merged[str(entry["name"])] = dict(entry)
    coord = cube.coords[dim].copy()
    coord.attrs = {**coord.attrs, BANDS_ATTR: list(merged.values())}
    return cube.assign_coords({dim: coord})


def resolve_band(cube: xr.DataArray, wanted: str, dim: str = "bands") -> list[str]:
    """Band labels matching ``wanted``: the band of that name, else those with that common name."""
    names = [str(v) for v in label_values(cube, dim)]
    if wanted in names:
        return [wanted]
    info = band_info(cube)
    return [n for n in names if info.get(n, {}).get("common_name") == wanted]


# -- chunking ------------------------------------------------------------------------------


MAX_CHUNK_BYTES: Final = 128 * 2**20
"""Largest chunk :func:`keep_all_dates_together` makes before it splits space finer."""


def keep_all_dates_together(cube: xr.DataArray, dims: Sequence[str] = ("t",)) -> xr.DataArray:
    """Rechunk so that each of ``dims`` is one chunk (a tile's dates stay together).

    Reductions and scans along time then run per tile without gathering chunks.
    Spatial chunks are kept unless a chunk would exceed :data:`MAX_CHUNK_BYTES`; then
    the spatial chunk sides shrink until it fits. Numpy-backed cubes are unchanged.
    """
    if cube.chunks is None:
        return cube
    current = dict(zip(cube.dims, cube.chunks, strict=True))
    wanted: dict[Hashable, Any] = {d: -1 for d in dims if d in cube.dims and len(current[d]) > 1}
    if not wanted:
        return cube
    cells = 1
    for dim in cube.dims:
        cells *= cube.sizes[dim] if dim in wanted else max(current[dim])
    nbytes = cells * cube.dtype.itemsize
    if nbytes > MAX_CHUNK_BYTES and {"x", "y"} <= set(cube.dims):
        # Halve the larger spatial side until a chunk fits: the new chunks split the old
        # ones evenly, so cubes chunked like the original still line up (a mask computed
        # from the bands with the data it masks) instead of being rechunked to odd sizes.
        sides = {dim: max(current[dim]) for dim in ("y", "x")}
        per_pixel = nbytes / (sides["y"] * sides["x"])
        while per_pixel * sides["y"] * sides["x"] > MAX_CHUNK_BYTES and max(sides.values()) > 1:
            dim = max(sides, key=lambda d: sides[d])
            sides[dim] = -(-sides[dim] // 2)
        wanted.update(sides)
    return cube.chunk(wanted)

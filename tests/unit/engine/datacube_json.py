"""The datacube encoding of the official process test vectors, as xarray cubes.

A vector writes a cube as ``{"type": "datacube", "order": [...], "dimensions": {...},
"data": [...], "nodata": ...}`` (see ``tests/README.md`` of openeo-processes); a file
may be referenced with ``{"$ref": "assets/<file>.json5"}``. :func:`to_cube` builds the
cube (time labels as datetime64, the spatial reference through odc-geo, dimension types
recorded when the name does not tell them); :func:`same_cube` compares a result with an
expected cube: dimension names and types, labels, and values (when given) within a
tolerance, with null/nodata equal to NaN.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.xr import assign_crs

from eostation.engine.cube import dimension_type, to_datetime_labels, with_dimension_type

__all__ = ["resolve_refs", "same_cube", "to_cube"]


def resolve_refs(value: Any, base: Path, json5: Any) -> Any:
    """``value`` with every ``{"$ref": path}`` replaced by the file's content."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            path = base / value["$ref"]
            if not path.is_file():
                return (
                    value  # a broken reference in the vectors; the runner reports it as a failure
                )
            text = path.read_text()
            if path.suffix in (".json", ".json5"):
                return resolve_refs(json5.loads(text), base, json5)
            return text
        return {k: resolve_refs(v, base, json5) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, base, json5) for v in value]
    return value


def _dimensions(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    dims = doc.get("dimensions", {})
    if isinstance(dims, list):
        return [(d["name"], d) for d in dims]
    order = doc.get("order") or doc.get("order: ") or list(dims)
    return [(name, dims[name]) for name in order]


# A temporal label is an instant only when it is an RFC 3339 date or date-time. Period
# labels (``2022-49``, ``2020-153``, ``2023-djf``, ``2020-06-01-00``) and user labels
# (``W01``, ``06:00:00``, ``before``) are strings: parsing them as dates either fails or,
# worse, silently turns ``2022-12`` (a month label) into an instant.
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$"
)


def _is_instant(value: Any) -> bool:
    return isinstance(value, str) and _INSTANT.match(value) is not None


def _labels(spec: dict[str, Any]) -> np.ndarray:
    values = spec.get("values", [])
    if spec.get("type") == "temporal":
        if all(_is_instant(v) for v in values):
            return to_datetime_labels(values)
        return np.asarray([str(v) for v in values], dtype=object)
    if spec.get("type") == "spatial":
        return np.asarray(values, dtype=float)
    kinds = {type(v) for v in values}
    return np.asarray(values, dtype=object if len(kinds) > 1 else None)


def _values(data: Any, shape: tuple[int, ...], nodata: Any) -> np.ndarray:
    if data is None or not shape:
        return np.full(shape, np.nan)
    flat = np.asarray(data, dtype=object).reshape(-1) if shape and 0 not in shape else []
    numbers = [np.nan if v is None else float(v) for v in flat]
    array = np.asarray(numbers, dtype=float).reshape(shape)
    if isinstance(nodata, (int, float)) and not math.isnan(nodata):
        array[array == nodata] = np.nan
    return array


def _nodata(doc: dict[str, Any]) -> Any:
    nodata = doc.get("nodata")
    return nodata[0] if isinstance(nodata, list) and nodata else nodata


def to_cube(doc: dict[str, Any]) -> xr.DataArray:
    """A test-vector datacube as a float cube (nodata → NaN)."""
    dims = _dimensions(doc)
    coords = {name: _labels(spec) for name, spec in dims}
    shape = tuple(len(coords[name]) for name, _ in dims)
    cube = xr.DataArray(
        _values(doc.get("data"), shape, _nodata(doc)),
        dims=[name for name, _ in dims],
        coords=coords,
        attrs={"nodata": float("nan")},
    )
    for name, spec in dims:
        kind = spec.get("type", "other")
        if dimension_type(cube, name) != kind:
            cube = with_dimension_type(cube, name, kind)
    crs = next((s.get("reference_system") for _, s in dims if s.get("type") == "spatial"), None)
    if (
        crs is not None
        and {"x", "y"} <= set(cube.dims)
        and min(cube.sizes["x"], cube.sizes["y"]) > 1
    ):
        cube = assign_crs(cube, str(crs) if not isinstance(crs, int) else f"EPSG:{crs}")
    return cube


def _same_labels(actual: np.ndarray, expected: np.ndarray, temporal: bool) -> bool:
    if len(actual) != len(expected):
        return False
    if temporal and expected.dtype.kind == "M":
        return all(
            isinstance(a, (np.datetime64, str)) and pd.Timestamp(a) == pd.Timestamp(e)
            for a, e in zip(actual, expected, strict=True)
        )
    if temporal:  # period or user labels: the exact strings
        return all(
            not isinstance(a, np.datetime64) and str(a) == str(e)
            for a, e in zip(actual, expected, strict=True)
        )
    for a, e in zip(actual, expected, strict=True):
        if isinstance(e, (float, np.floating)) and not isinstance(a, str):
            if not math.isclose(float(a), float(e), abs_tol=1e-6):
                return False
        elif a != e and str(a) != str(e):
            return False
    return True


def same_cube(actual: Any, doc: dict[str, Any], delta: float) -> str | None:
    """None when ``actual`` matches the expected datacube, else what differs."""
    if not isinstance(actual, xr.DataArray):
        return f"expected a datacube, got {type(actual).__name__}"
    expected = to_cube(doc)
    if set(actual.dims) != set(expected.dims):
        return f"dimensions {actual.dims} != {expected.dims}"
    actual = actual.transpose(*expected.dims)
    for dim in expected.dims:
        kind = dimension_type(expected, dim)
        if dimension_type(actual, dim) != kind:
            return f"dimension {dim} is {dimension_type(actual, dim)}, expected {kind}"
        have = actual.coords[dim].values if dim in actual.coords else np.arange(actual.sizes[dim])
        if not _same_labels(np.asarray(have), expected.coords[dim].values, kind == "temporal"):
            return f"labels of {dim}: {list(have)} != {list(expected.coords[dim].values)}"
    if doc.get("data") is None:
        return None
    values = np.asarray(actual.values)
    if values.dtype.kind == "b":
        values = values.astype(float)
    values = values.astype(float)
    nodata = actual.attrs.get("nodata")
    if isinstance(nodata, (int, float)) and not math.isnan(nodata):
        values = np.where(values == nodata, np.nan, values)
    want = expected.values
    same = np.isclose(values, want, atol=delta, rtol=0, equal_nan=True)
    if not same.all():
        return f"values differ at {np.argwhere(~same)[:3].tolist()}: got {values[~same][:3]}, expected {want[~same][:3]}"
    return None

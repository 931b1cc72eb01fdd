"""Vector cubes as long tables: one row per (geometry, date), one column per band."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.errors import FormatUnsuitable
from eostation.formats.cubes import check_dims, is_vector_cube, iso_instant

__all__ = ["values_table", "vector_table"]


def vector_table(cube: xr.DataArray, format_name: str) -> tuple[pd.DataFrame, list[Any]]:
    """The rows of a vector cube, and the geometries in ``feature_index`` order.

    Columns: ``feature_index`` (position of the geometry in the cube), any other
    coordinate along ``geometries`` (e.g. feature ids), ``date`` (ISO 8601, only
    when the cube has ``t``), then one column per band (``value`` without ``bands``).
    Rows are ordered by geometry, then date.
    """
    if not is_vector_cube(cube):
        raise FormatUnsuitable(format=format_name, reason="it needs a vector cube")
    check_dims(cube, format_name, ("geometries", "t", "bands"))
    if "bands" not in cube.dims:
        cube = cube.expand_dims(bands=["value"])
    bands = [str(b) for b in cube["bands"].values]
    has_t = "t" in cube.dims
    order = ["geometries", "t", "bands"] if has_t else ["geometries", "bands"]
    values = np.asarray(cube.transpose(*order).values)
    n_geom = cube.sizes["geometries"]
    n_t = cube.sizes["t"] if has_t else 1
    table: dict[str, Any] = {"feature_index": np.repeat(np.arange(n_geom), n_t)}
    for name, coord in cube.coords.items():
        if name != "geometries" and coord.dims == ("geometries",) and str(name) not in bands:
            table[str(name)] = np.repeat(coord.values, n_t)
    if has_t:
        table["date"] = np.tile([iso_instant(t) for t in cube["t"].values], n_geom)
    flat = values.reshape(n_geom * n_t, len(bands))
    for i, band in enumerate(bands):
        table[band] = flat[:, i]
    return pd.DataFrame(table), list(cube["geometries"].values)


def values_table(value: Any, format_name: str) -> pd.DataFrame:
    """A plain value as a table: a scalar or 1-D list as a ``value`` column, a 2-D list as
    rows, a dict of scalars or lists as columns."""
    if isinstance(value, dict):
        try:
            return pd.DataFrame({str(k): np.atleast_1d(np.asarray(v)) for k, v in value.items()})
        except ValueError as e:
            raise FormatUnsuitable(
                format=format_name, reason=f"columns of unequal length ({e})"
            ) from e
    try:
        arr = np.asarray(value.values if isinstance(value, xr.DataArray) else value)
    except ValueError as e:  # ragged nested lists
        raise FormatUnsuitable(format=format_name, reason=f"a ragged list ({e})") from e
    if arr.dtype == object and arr.ndim and any(isinstance(v, (list, dict)) for v in arr.flat):
        raise FormatUnsuitable(format=format_name, reason="a ragged or nested list")
    if arr.ndim <= 1:
        return pd.DataFrame({"value": np.atleast_1d(arr)})
    if arr.ndim == 2:
        return pd.DataFrame(arr, columns=[f"column_{i}" for i in range(arr.shape[1])])
    raise FormatUnsuitable(format=format_name, reason=f"an array with {arr.ndim} dimensions")

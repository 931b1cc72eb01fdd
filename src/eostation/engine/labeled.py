"""Arrays as processes see them: plain lists, or a :class:`LabeledArray` view of a cube.

openEO's array processes (``mean``, ``array_element``, ``quantiles``, ...) take "an
array". In a callback of a cube process that array is one dimension of the cube, and
the callback must run once for the whole cube, not per pixel. A :class:`LabeledArray`
is that view: an ``xarray.DataArray`` plus the name of the dimension that plays the
role of the array. Every other dimension is a batch of independent arrays. Array
processes reduce or select along ``dim``; element-wise processes broadcast.

Plain Python lists (as in the spec examples) go through the same numeric kernels via
:func:`numeric_view`, which lays the list along a private dimension.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "ARRAY_DIM",
    "LabeledArray",
    "numeric_view",
    "plain_numbers",
    "to_python",
]

ARRAY_DIM = "__array__"
"""The dimension a plain list is laid along."""


@dataclass(frozen=True)
class LabeledArray:
    """An openEO (labeled) array stored along dimension ``dim`` of ``data``.

    Labels are the coordinate values of ``dim`` when it has a coordinate. For a 1-D
    ``data`` this is an ordinary array; for a cube it is a batch of arrays, one per
    position in the other dimensions.

    ``unmerged`` optionally holds the same values as ``data`` before ``dim`` was
    merged into one chunk (``reduce_dimension`` merges it so that reducers see a
    pixel's whole array at once). Picking a single element from it selects a chunk as
    it is instead of copying that element out of the merged chunk, and when nothing
    else reads ``data`` dask never computes the merge.

    ``own_labels`` marks an array whose labels along ``dim`` were chosen by the code
    that made it (a UDF returning new time labels or band names): ``apply_dimension``
    keeps them instead of numbering the results.
    """

    data: xr.DataArray
    dim: str
    unmerged: xr.DataArray | None = None
    own_labels: bool = False

    @classmethod
    def from_values(
        cls, values: Sequence[Any], labels: Sequence[Any] | None = None
    ) -> LabeledArray:
        """A 1-D labeled array from Python values.

        All-numeric values give a numeric array; anything else (nulls, strings, booleans,
        nested values) an object array that keeps every value exactly.
        """
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        array = np.asarray(list(values), dtype=None if numeric and values else object)
        if not values:
            array = np.asarray([], dtype=float)
        coords = {ARRAY_DIM: np.asarray(list(labels), dtype=object)} if labels is not None else None
        return cls(xr.DataArray(array, dims=[ARRAY_DIM], coords=coords), ARRAY_DIM)

    @property
    def size(self) -> int:
        """Number of elements along ``dim``."""
        return int(self.data.sizes[self.dim])

    @property
    def labels(self) -> list[Any] | None:
        """The labels along ``dim`` as Python values, or None when unlabeled."""
        if self.dim not in self.data.coords:
            return None
        return [_plain(v) for v in self.data.coords[self.dim].values]

    @property
    def is_batch(self) -> bool:
        """True when ``data`` has dimensions besides ``dim`` (a view of a cube)."""
        return self.data.ndim > 1

    def with_data(self, data: xr.DataArray) -> LabeledArray:
        """The same view over new data (e.g. after an element-wise operation)."""
        return LabeledArray(data, self.dim)

    def tolist(self) -> list[Any]:
        """The elements as Python values (1-D views only; NaN stays NaN)."""
        return [to_python(v, keep_nan=True) for v in self.data.values]

    def numeric(self) -> xr.DataArray:
        """The data as numbers, null → NaN (object arrays are converted)."""
        if self.data.dtype == object:
            return self.data.where(self.data.notnull(), np.nan).astype(float)
        return self.data


def _plain(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return value.item() if isinstance(value, np.generic) else value


def to_python(value: Any, keep_nan: bool = False) -> Any:
    """A 0-d/1-d numpy or xarray result as Python values, NaN → None unless ``keep_nan``."""
    if isinstance(value, xr.DataArray):
        value = value.values
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value.item()
        else:
            return [to_python(v, keep_nan) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value) and not keep_nan:
        return None
    return value


def numeric_view(data: Any) -> tuple[xr.DataArray, str, bool]:
    """``(array, dim, plain)`` for a list or :class:`LabeledArray` of numbers.

    ``plain`` is True when the input was a Python list; callers then convert their
    result back with :func:`to_python`. Null elements become NaN.
    """
    if isinstance(data, LabeledArray):
        return data.numeric(), data.dim, False
    values = [math.nan if v is None else v for v in data]
    array = np.asarray(values, dtype=float if not values or None in data else None)
    if array.dtype == object or array.dtype.kind in "US":
        array = np.asarray(values, dtype=float)
    return xr.DataArray(array, dims=[ARRAY_DIM]), ARRAY_DIM, True


def plain_numbers(values: Sequence[Any], ignore_nodata: bool) -> xr.DataArray | None:
    """A Python list of numbers as a 1-D array with nulls dropped (``ignore_nodata``).

    Unlike in cubes, NaN in a list is a number, not null, so it is kept and propagates.
    Returns None when a null is present and not ignored: the result is then null.
    """
    if not ignore_nodata and any(v is None for v in values):
        return None
    kept = [v for v in values if v is not None]
    return xr.DataArray(np.asarray(kept, dtype=float if not kept else None), dims=[ARRAY_DIM])

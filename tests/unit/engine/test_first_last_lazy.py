"""first/last as reducers over a dask cube chunked along the reduced dimension."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from eostation.engine import LabeledArray, default_registry


def _reference(values: np.ndarray, reverse: bool) -> np.ndarray:
    series = values[::-1] if reverse else values
    out = np.full(values.shape[1:], np.nan)
    for idx in np.ndindex(values.shape[1:]):
        column = series[(slice(None), *idx)]
        valid = column[~np.isnan(column)]
        if valid.size:
            out[idx] = valid[0]
    return out


@pytest.mark.parametrize("name", ["first", "last"])
def test_first_and_last_valid_on_a_chunked_dask_cube(name: str) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(6, 4, 5))
    values[rng.random(values.shape) < 0.5] = np.nan
    values[:, 0, 0] = np.nan  # an all-null series stays null
    cube = xr.DataArray(da.from_array(values, chunks=(2, 2, 5)), dims=["t", "y", "x"])
    fn = default_registry().get(name).function
    out = fn(data=LabeledArray(cube, "t"), ignore_nodata=True)
    assert out.dims == ("y", "x") and out.chunks is not None  # still lazy
    np.testing.assert_array_equal(out.values, _reference(values, reverse=name == "last"))
    strict = fn(data=LabeledArray(cube, "t"), ignore_nodata=False)
    np.testing.assert_array_equal(strict.values, values[-1 if name == "last" else 0])

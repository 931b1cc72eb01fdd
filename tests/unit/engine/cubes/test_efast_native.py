"""The native efast steps against a direct, loop-by-loop NumPy reading of the paper's
equations (Senty et al. 2024, as the published EFAST graph applies them)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.processes.cubes.efast import _linear_in_time
from eostation.engine.processes.cubes.efast_kernels import (
    composite,
    distance_score,
    fuse,
    temporal_score,
)


def _nearest_cloud(cloudy: np.ndarray, row: int, col: int) -> float:
    best = math.inf
    for r, c in zip(*np.nonzero(cloudy), strict=True):
        best = min(best, math.hypot(r - row, c - col))
    return best


def test_distance_score_is_the_clipped_ramp_of_the_euclidean_distance() -> None:
    rng = np.random.default_rng(5)
    cloudy = rng.uniform(size=(2, 9, 11)) > 0.9
    cloudy[1] = False
    score = distance_score(cloudy, ramp=3.0)
    for r in range(9):
        for c in range(11):
            expected = min(max((_nearest_cloud(cloudy[0], r, c) - 1) / 3.0, 0.0), 1.0)
            assert score[0, r, c] == np.float64(expected) or abs(score[0, r, c] - expected) < 1e-12
    assert (score[1] == 1).all()


def test_composite_and_fusion_follow_the_weighted_sums() -> None:
    rng = np.random.default_rng(9)
    days = np.array([0, 3, 7, 12])
    targets = np.array([2, 10])
    sigma = 4.0
    values = rng.uniform(0.05, 0.5, (4, 2, 3, 3))
    values[1, 0, 0, 0] = np.nan  # an unobserved pixel: its weight is dropped
    values[2, 1, 1, 1] = np.nan  # a missing second band counts as 0
    score = rng.uniform(0, 1, (4, 3, 3))
    score[:, 2, 2] = 0  # no usable input: null
    weights = temporal_score(days, targets, sigma)
    out = composite(score, weights, values)
    for k, target in enumerate(targets):
        for y in range(3):
            for x in range(3):
                w = [
                    math.exp(-((target - d) ** 2) / (2 * sigma**2)) * score[i, y, x]
                    if not math.isnan(values[i, 0, y, x])
                    else 0.0
                    for i, d in enumerate(days)
                ]
                total = sum(w)
                for b in range(2):
                    if total == 0:
                        assert math.isnan(out[k, b, y, x])
                        continue
                    v = [
                        0.0 if math.isnan(values[i, b, y, x]) else values[i, b, y, x]
                        for i in range(4)
                    ]
                    expected = sum(wi * vi for wi, vi in zip(w, v, strict=True)) / total
                    assert math.isclose(out[k, b, y, x], expected, rel_tol=1e-12)
    # A band composited on its own, counted where the first band is observed (how the
    # native process composites the S3 values at the S2 dates): the same values.
    alone = composite(score, weights, values[:, 1:], observed=~np.isnan(values[:, 0]))
    np.testing.assert_allclose(alone, out[:, 1:], rtol=1e-12)
    hr, lr, now = out[:, 0], out[:, 1], out[:, 1] * 1.1
    fused = fuse(hr, lr, now)
    usable = np.isfinite(lr)
    np.testing.assert_allclose(fused[usable], (hr + now - lr)[usable])
    np.testing.assert_array_equal(np.isnan(fused), np.isnan(hr))


def test_linear_in_time_equals_xarray_interp_with_its_nulls() -> None:
    rng = np.random.default_rng(2)
    values = rng.uniform(0, 1, (5, 2, 4, 3))
    values[2, 0, 1, 1] = np.nan  # nulls the dates bracketed by it
    times = pd.date_range("2023-09-03", periods=5, freq="5D")
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"), coords={"t": times}).chunk({"y": 2})
    wanted = pd.to_datetime(
        ["2023-09-01", "2023-09-03", "2023-09-05T10:00", "2023-09-13", "2023-09-15", "2023-09-25"],
        format="ISO8601",
    ).to_numpy()
    expected = cube.interp(t=wanted).compute()
    out = _linear_in_time(cube, wanted).compute()
    np.testing.assert_allclose(out.values, expected.values, rtol=1e-12, equal_nan=True)
    assert np.isnan(out.values[0]).all() and np.isnan(out.values[-1]).all()
    assert np.isnan(out.values[3, 0, 1, 1]) and list(out.t.values) == list(wanted)

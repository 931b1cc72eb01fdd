"""The native efast steps against a direct, loop-by-loop NumPy reading of the paper's
equations (Senty et al. 2024, as the published EFAST graph applies them)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eostation.engine.processes.cubes.efast import _linear_in_time
from eostation.engine.processes.cubes.efast_kernels import (
    composite,
    distance_score,
    fuse,
    fused_block,
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


def _weighted_mean(weights: list[float], values: list[float]) -> float:
    total = sum(weights)
    if total == 0:
        return math.nan
    mean = sum(w * (0.0 if math.isnan(v) else v) for w, v in zip(weights, values, strict=True))
    mean /= total
    return mean if mean > 0 else math.nan


def test_fused_block_equals_the_equations_pixel_by_pixel_in_float32() -> None:
    """The whole 10 m step of one block (S2 masked by SCL, both composites with the
    coarse scores and S3 values gathered by nearest neighbour, eq. 3, the NDVI) against
    the equations evaluated pixel by pixel in float64: equal within float32 precision."""
    rng = np.random.default_rng(11)
    days, targets, sigma = np.array([0, 4, 9, 15]), np.array([3, 12]), 6.0
    s2 = rng.uniform(300, 4000, (4, 2, 6, 4)).astype(np.float32)
    scl = rng.choice(
        [4.0, 5.0, 0.0, 3.0, 8.0, 9.0, np.nan], p=[0.4, 0.3] + [0.06] * 5, size=(4, 6, 4)
    )
    s2[2, 1, 0, 0] = np.nan  # a missing NIR value counts as 0
    scl[:, 0, 3] = 9  # cloudy on every date: null
    score = rng.uniform(0, 1, (4, 3, 2))
    lr_at_s2 = rng.uniform(0.05, 0.4, (4, 2, 2, 2))
    lr_now = rng.uniform(0.05, 0.4, (2, 2, 2, 2))
    lr_now[1, 0, 1, 1] = np.nan  # no S3 value at a target date: the S2 composite alone
    rows, cols = np.meshgrid(np.arange(6), np.arange(4), indexing="ij")
    score_index = (rows // 2) * 2 + cols // 2
    lr_index = (rows // 3) * 2 + cols // 2
    lr_index[5, 3] = -1  # outside the S3 grid
    weights = temporal_score(days, targets, sigma)
    out = fused_block(
        s2, scl, score, lr_at_s2, lr_now, score_index, lr_index, weights=weights, ndvi=(1, 0)
    )
    assert out.dtype == np.float32 and out.shape == (2, 1, 6, 4)
    expected = np.full(out.shape, np.nan)
    for k, target in enumerate(targets):
        for y in range(6):
            for x in range(4):
                sy, sx = divmod(int(score_index[y, x]), 2)
                clear = [not (np.isnan(c) or c in (0, 3) or c > 7) for c in scl[:, y, x]]
                hr = np.where(np.array(clear)[:, None], s2[:, :, y, x] * np.float32(1e-4), np.nan)
                w = [
                    math.exp(-((target - d) ** 2) / (2 * sigma**2)) * score[i, sy, sx]
                    if not math.isnan(hr[i, 0])
                    else 0.0
                    for i, d in enumerate(days)
                ]
                fused = []
                for b in range(2):
                    hr_c = _weighted_mean(w, list(hr[:, b]))
                    if lr_index[y, x] < 0:
                        lr_c = now = math.nan
                    else:
                        ly, lx = divmod(int(lr_index[y, x]), 2)
                        lr_c = _weighted_mean(w, list(lr_at_s2[:, b, ly, lx]))
                        now = lr_now[k, b, ly, lx]
                    usable = not (math.isnan(lr_c) or math.isnan(now) or lr_c == 0 or now == 0)
                    fused.append(hr_c + now - lr_c if usable else hr_c)
                expected[k, 0, y, x] = (fused[1] - fused[0]) / (fused[1] + fused[0])
    assert np.isfinite(expected).sum() > 20 and np.isnan(expected).sum() > 0
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_allclose(out, expected, rtol=2e-5, atol=1e-6, equal_nan=True)
    bands = fused_block(s2, scl, score, lr_at_s2, lr_now, score_index, lr_index, weights=weights)
    assert bands.shape == (2, 2, 6, 4)
    nir, red = bands[:, 1:].astype(np.float64), bands[:, :1].astype(np.float64)
    np.testing.assert_allclose(out, (nir - red) / (nir + red), rtol=1e-5, equal_nan=True)


EFAST_RUN = """
import json, sys
import dask.threaded
import numpy as np
from eostation.data.load import load_collection
from eostation.data.registry import build_registry
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
collections = build_registry()
env = EvalContext(default_registry(), EngineLimits(),
                  load_collection=lambda c, r: load_collection(collections, c, r))
box = {"west": -15.9, "south": 15.67, "east": -15.895, "north": 15.675}
arguments = {"spatial_extent": box, "temporal_extent": ["2023-09-10", "2023-09-20"],
             "temporal_extent_target": None,
             "interval_days": 5, "s2_data_bands": ["B04", "B8A"],
             "s3_data_bands": ["SDR_Oa08", "SDR_Oa17"], "output_ndvi": True}
graph = {"process_graph": {"e": {"process_id": "efast", "arguments": arguments, "result": True}}}
with dask.config.set(scheduler=dask.threaded.get):  # as the local runner computes
    out = evaluate(graph, env).compute()
print(json.dumps({"modules": sorted(m for m in ("pydantic", "distributed") if m in sys.modules),
                  "shape": list(out.shape), "dtype": str(out.dtype),
                  "finite": float(np.isfinite(out.values).mean()),
                  "range": [float(np.nanmin(out.values)), float(np.nanmax(out.values))]}))
"""


@pytest.mark.slow
def test_a_native_run_imports_neither_pydantic_nor_distributed() -> None:
    """The start-up floor: without a collections.toml the registry needs no pydantic
    models, and EFAST's rechunks name their method, so dask does not import distributed
    to look for a client (~0.1 s each of every run)."""
    done = subprocess.run(
        [sys.executable, "-c", EFAST_RUN], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] == []
    assert report["shape"][:2] == [2, 1] and report["dtype"] == "float32"
    assert report["finite"] > 0.9 and -1 <= report["range"][0] < report["range"][1] <= 1


def _on_grid(values: np.ndarray, resolution: int, dims: tuple[str, ...]) -> xr.DataArray:
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    box = GeoBox.from_bbox((500010, 1700010, 500190, 1700130), "EPSG:32628", resolution=resolution)
    coords = dict(xr_coords(box, dims=("y", "x")))
    return xr.DataArray(values, dims=dims, coords=coords)


def test_fused_blocks_of_a_chunked_cube_equal_one_block_of_the_whole() -> None:
    """``efast``'s 10 m step on a cube split into 5 × 7 px blocks: the coarse layers are
    gathered for each block with its own part of the index map, so the blocks together
    equal the kernel run on the whole image; a 30 m pixel covers 3 × 3 px at 10 m."""
    from eostation.engine.processes.cubes.efast import _fused
    from eostation.engine.processes.cubes.efast_grid import pixel_index

    rng = np.random.default_rng(3)
    s2_values = rng.uniform(300, 4000, (3, 2, 12, 18)).astype(np.float32)
    scl_values = rng.choice([4.0, 5.0, 9.0], p=[0.5, 0.3, 0.2], size=(3, 12, 18))
    s2 = _on_grid(s2_values, 10, ("t", "bands", "y", "x")).chunk({"y": 5, "x": 7})
    scl = _on_grid(scl_values, 10, ("t", "y", "x")).chunk({"y": 5, "x": 7})
    score = _on_grid(rng.uniform(0, 1, (3, 4, 6)), 30, ("t", "y", "x"))
    lr_at_s2 = _on_grid(rng.uniform(0.05, 0.4, (3, 2, 4, 6)), 30, ("t", "bands", "y", "x"))
    lr_now = _on_grid(rng.uniform(0.05, 0.4, (2, 2, 4, 6)), 30, ("t", "bands", "y", "x"))
    index = pixel_index(score, s2)
    rows, cols = np.meshgrid(np.arange(12), np.arange(18), indexing="ij")
    np.testing.assert_array_equal(index, (rows // 3) * 6 + cols // 3)
    weights = temporal_score(np.array([0, 5, 9]), np.array([2, 8]), 20.0)
    blocks = _fused(s2, scl, score, lr_at_s2, lr_now, weights, (1, 0))
    assert blocks.numblocks == (1, 1, 3, 3)
    whole = fused_block(
        s2_values,
        scl_values,
        score.values,
        lr_at_s2.values,
        lr_now.values,
        index,
        index,
        weights=weights,
        ndvi=(1, 0),
    )
    assert np.isfinite(whole).mean() > 0.9
    np.testing.assert_array_equal(blocks.compute(), whole)

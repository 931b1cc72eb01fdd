"""to_scl_dilation_mask against masks worked out by hand on tiny SCL images.

The Gaussian kernels of width 3 and 5 (sigma = width / 6) have these 2-D weights,
computed by hand from ``exp(-d^2 / (2 sigma^2))`` normalised to sum 1:

- width 3: centre 0.619, edge neighbour 0.0838, diagonal 0.0113;
- width 5: centre 0.230, at (0, 1) 0.112, at (1, 1) 0.0545, at (0, 2) 0.0129.

So one flagged pixel dilated with width 3 masks a plus (0.0838 > 0.057 and > 0.025,
0.0113 below both); with width 5 it masks a plus under threshold 0.057 (mask 1:
0.0545 < 0.057) and a 3 x 3 square under threshold 0.025 (mask 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.scl_mask import _gaussian, dilation_mask
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()
VEG, CLOUD = 4, 9

PLUS = np.array(
    [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]],
    dtype=np.uint8,
)
SQUARE = np.array(
    [[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]],
    dtype=np.uint8,
)


def _one_cloud(size: int = 5) -> np.ndarray:
    scl = np.full((size, size), VEG, dtype=float)
    scl[size // 2, size // 2] = CLOUD
    return scl


def test_kernel_weights_are_the_hand_computed_ones() -> None:
    g3, g5 = _gaussian(3), _gaussian(5)
    assert np.outer(g3, g3)[1, 1] == pytest.approx(0.6193, abs=1e-4)
    assert np.outer(g3, g3)[0, 1] == pytest.approx(0.0838, abs=1e-4)
    assert np.outer(g3, g3)[0, 0] == pytest.approx(0.0113, abs=1e-4)
    assert np.outer(g5, g5)[1, 1] == pytest.approx(0.0545, abs=1e-4)
    assert np.outer(g5, g5)[0, 2] == pytest.approx(0.0129, abs=1e-4)


def test_without_kernels_the_mask_is_the_class_test() -> None:
    scl = np.array([[4, 8], [0, 5]], dtype=float)  # vegetation, cloud / no data, bare soil
    got = dilation_mask(scl, kernel1_size=0, kernel2_size=0)
    np.testing.assert_array_equal(got, [[0, 1], [1, 0]])


def test_null_scl_is_masked() -> None:
    scl = np.array([[4, np.nan]])
    np.testing.assert_array_equal(dilation_mask(scl, kernel1_size=0, kernel2_size=0), [[0, 1]])


def test_small_kernel_dilates_a_plus() -> None:
    got = dilation_mask(_one_cloud(), kernel1_size=3, kernel2_size=0, mask2_values=())
    np.testing.assert_array_equal(got, PLUS)


def test_mask1_and_mask2_thresholds_differ() -> None:
    # The cloud is outside the clear classes (mask 1) and a cloud class (mask 2).
    only1 = dilation_mask(_one_cloud(), kernel1_size=5, kernel2_size=0, mask2_values=())
    only2 = dilation_mask(_one_cloud(), kernel1_size=0, kernel2_size=5, mask1_values=(VEG, CLOUD))
    np.testing.assert_array_equal(only1, PLUS)
    np.testing.assert_array_equal(only2, SQUARE)
    both = dilation_mask(_one_cloud(), kernel1_size=5, kernel2_size=5)
    np.testing.assert_array_equal(both, SQUARE)


def test_erosion_removes_isolated_pixels_and_keeps_cores() -> None:
    lonely = dilation_mask(_one_cloud(), erosion_kernel_size=3, kernel1_size=0, kernel2_size=0)
    assert lonely.sum() == 0
    block = np.full((5, 5), VEG, dtype=float)
    block[1:4, 1:4] = CLOUD
    got = dilation_mask(block, erosion_kernel_size=3, kernel1_size=0, kernel2_size=0)
    expected = np.zeros((5, 5), dtype=np.uint8)
    expected[2, 2] = 1  # only the centre has all four neighbours (a disc of radius 1) cloudy
    np.testing.assert_array_equal(got, expected)
    cloudy = np.full((3, 3), CLOUD, dtype=float)  # outside the cube counts as flagged
    np.testing.assert_array_equal(
        dilation_mask(cloudy, erosion_kernel_size=3, kernel1_size=0, kernel2_size=0),
        np.ones((3, 3)),
    )


def _cube(scl: np.ndarray, bands: tuple[str, ...] = ("SCL",), chunks: bool = False) -> xr.DataArray:
    stack = np.stack([np.stack([scl + i for i in range(len(bands))])] * 2)
    cube = xr.DataArray(
        stack,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array(["2022-06-01", "2022-06-11"], dtype="datetime64[ns]"),
            "bands": list(bands),
            "y": 100.0 - 10 * np.arange(scl.shape[0]),
            "x": 10.0 * np.arange(scl.shape[1]),
        },
        attrs={"crs": "EPSG:32631"},
    )
    return cube.chunk({"t": 1, "y": 2, "x": 2}) if chunks else cube


def _run(cube: xr.DataArray, **arguments: Any) -> Any:
    graph = {
        "process_graph": {
            "m": {
                "process_id": "to_scl_dilation_mask",
                "arguments": {"data": {"from_parameter": "cube"}, **arguments},
                "result": True,
            }
        }
    }
    return evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"cube": cube})


@pytest.mark.parametrize("chunks", [False, True])
def test_process_masks_every_date_and_drops_bands(chunks: bool) -> None:
    out = _run(_cube(_one_cloud(), chunks=chunks), kernel1_size=3, kernel2_size=0)
    assert out.dims == ("t", "y", "x")
    values = out.values
    np.testing.assert_array_equal(values[0], PLUS)
    np.testing.assert_array_equal(values[1], PLUS)


def test_process_picks_the_named_band() -> None:
    # Band "B04" holds SCL + 1 (all 5 = bare soil, 10 = cirrus); SCL is band 2.
    cube = _cube(_one_cloud(), bands=("B04", "SCL"))
    cube = cube.assign_coords(bands=["B04", "SCL"])
    out = _run(cube, scl_band_name="SCL", kernel1_size=0, kernel2_size=0)
    expected = np.zeros((5, 5))
    expected[2, 2] = 1  # band SCL is the input + 1: 5 (clear) and 10 (cirrus)
    np.testing.assert_array_equal(out.values[0], expected)


def test_default_kernels_unmask_a_lone_cloud_pixel() -> None:
    # With the default width 17 (sigma 17/6) the centre weight is 0.0199 < 0.057 and
    # with width 201 it is 0.00014 < 0.025: CDSE's smoothing drops isolated pixels.
    scl = np.full((41, 41), VEG, dtype=float)
    scl[20, 20] = CLOUD
    assert int(_run(_cube(scl)).values.sum()) == 0
    scl[15:26, 15:26] = CLOUD  # a cloud of 11 x 11 pixels is masked with a 4-pixel margin
    out = _run(_cube(scl)).values[0]
    np.testing.assert_array_equal(np.flatnonzero(out[20]), np.arange(11, 30))
    np.testing.assert_array_equal(np.flatnonzero(out[:, 20]), np.arange(11, 30))
    assert out[15:26, 15:26].all() and out[11, 11] == 0  # the margin is round at corners


def _direct(flags: np.ndarray, size: int, threshold: float) -> np.ndarray:
    """The dilation written out as a plain 2-D weighted sum with zero padding."""
    d = np.arange(size) - size // 2
    kernel = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * (size / 6) ** 2))
    kernel /= kernel.sum()
    padded = np.pad(flags.astype(float), size // 2)
    out = np.zeros(flags.shape)
    for i in range(flags.shape[0]):
        for j in range(flags.shape[1]):
            out[i, j] = (padded[i : i + size, j : j + size] * kernel).sum()
    return out > threshold


def test_matches_a_direct_convolution_on_random_scenes() -> None:
    rng = np.random.default_rng(3)
    classes, weights = [0, 3, 4, 5, 8, 9, 11], [0.004, 0.004, 0.6, 0.38, 0.004, 0.004, 0.004]
    scl = rng.choice(classes, size=(24, 30), p=weights)
    scl[3:7, 4:9] = 9  # one real cloud
    first = ~np.isin(scl, [2, 4, 5, 6, 7])
    second = np.isin(scl, [3, 8, 9, 10, 11])
    expected = _direct(first, 7, 0.057) | _direct(second, 11, 0.025)
    got = dilation_mask(scl.astype(float), kernel1_size=7, kernel2_size=11)
    np.testing.assert_array_equal(got, expected.astype(np.uint8))
    assert 0 < got.sum() < got.size


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"scl_band_name": "SCL"}, "no band 'SCL'"),
        ({"kernel1_size": 5000}, "limit"),
        ({"mask1_values": ["cloud"]}, "mask1_values"),
    ],
)
def test_bad_input_is_a_clear_error(arguments: dict[str, Any], needle: str) -> None:
    cube = _cube(_one_cloud(), bands=("B04", "B08"))
    with pytest.raises(OpenEOError) as err:
        _run(cube, **arguments)
    assert err.value.code in ("ProcessParameterInvalid", "ProcessArgumentInvalid")
    assert needle in err.value.message


def test_several_bands_without_scl_is_refused() -> None:
    with pytest.raises(OpenEOError, match="no band 'SCL'"):
        _run(_cube(_one_cloud(), bands=("B04", "B08")))


def test_real_openeo_sample_cloudy_dates_are_masked_whole() -> None:
    """The real 10 x 10 pixel S2 sample (from CDSE's backend): each date is all vegetation
    (4) or all cloud (8 or 9). With CDSE's defaults a cloud covering the whole cube stays
    masked to its corners (mask 1 with width 17: a corner still sums about 0.25 > 0.057),
    and clear dates stay clear."""
    from tests.conftest import shared_path

    path = shared_path("data", "s2_l2a_openeo_small", "s2_l2a_zarr_sample.zarr")
    with xr.open_zarr(path) as ds:
        scl = ds["SCL"].load()
    scl.attrs, scl.encoding = {}, {}  # the grid does not matter here; keep odc quiet
    cube = scl.expand_dims(bands=["SCL"], axis=1)
    out = _run(cube).values
    cloudy = np.isin(scl.values[:, 0, 0], [8, 9])
    assert cloudy.sum() == 4 and (~cloudy).sum() == 8
    assert (out[cloudy] == 1).all() and (out[~cloudy] == 0).all()

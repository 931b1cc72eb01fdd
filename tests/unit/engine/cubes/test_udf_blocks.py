"""A UDF along a dimension runs on blocks of pixels when the cube is large for one call."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.xr import assign_crs

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.udf_blocks import block_side, in_blocks
from eostation.errors import ProcessParameterInvalid

from .test_core_processes import REGISTRY


def _cube(ny: int, nx: int, times: int = 4) -> xr.DataArray:
    rng = np.random.default_rng(5)
    cube = xr.DataArray(
        rng.uniform(0, 1, (times, 2, ny, nx)),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": pd.date_range("2023-09-01", periods=times, freq="2D").to_numpy(),
            "bands": ["a", "b"],
            "y": 1735000.0 - 5 - 10 * np.arange(ny),
            "x": 400000.0 + 5 + 10 * np.arange(nx),
        },
    )
    return assign_crs(cube, "EPSG:32628")


def _mean_over_t(part: xr.DataArray) -> xr.DataArray:
    calls.append(dict(part.sizes))
    return part.mean("t").expand_dims(t=[np.datetime64("2023-09-03")])


calls: list[dict[str, int]] = []


def test_blocks_are_sized_from_the_memory_limit_and_joined_in_place() -> None:
    cube = _cube(300, 250)  # 4.8 MB of float64: blocks of 1/64 of 64 MB = 1 MiB
    side = block_side(cube, memory_mb=64)
    assert side == 128  # 1 MiB / (4 dates × 2 bands × 8 B) = 16,384 px
    calls.clear()
    out = in_blocks(cube, "t", 64, _mean_over_t)
    assert len(calls) == 3 * 2 and max(c["y"] for c in calls) == 128
    assert all(c["t"] == 4 and c["bands"] == 2 for c in calls)
    whole = _mean_over_t(cube)
    xr.testing.assert_allclose(out, whole)
    assert out.odc.geobox == cube.odc.geobox


def test_small_cubes_and_spatial_dimensions_are_not_split() -> None:
    cube = _cube(300, 250)
    calls.clear()
    in_blocks(cube, "t", 4096, _mean_over_t)
    in_blocks(cube, "x", 64, _mean_over_t)
    assert [c["y"] for c in calls] == [300, 300]


def test_a_block_result_without_the_grid_is_a_clear_error() -> None:
    with pytest.raises(ProcessParameterInvalid, match="must return a cube with the dim"):
        in_blocks(_cube(300, 250), "t", 64, lambda part: float(part.mean()))


UDF = textwrap.dedent(
    """
    import numpy as np
    import xarray as xr

    def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
        print(f"block {cube.sizes['y']} x {cube.sizes['x']}")
        out = cube.mean("t").expand_dims(t=[np.datetime64("2023-09-03")])
        return out.transpose("t", "bands", "y", "x")
    """
)


def test_apply_dimension_udf_runs_per_block_in_the_sandbox() -> None:
    logs: list[str] = []
    env = EvalContext(
        REGISTRY,
        EngineLimits(udf_enabled=True, udf_memory_mb=1024),
        log=lambda level, message, data: logs.append(message),
    )
    cube = _cube(640, 520, times=6)  # 32 MB, 96 B a pixel; 16 MiB: blocks of 418 px
    run = {"process_id": "run_udf", "arguments": {"data": {"from_parameter": "data"},
           "udf": UDF, "runtime": "Python"}, "result": True}  # fmt: skip
    graph = {
        "process_graph": {
            "a": {
                "process_id": "apply_dimension",
                "arguments": {"data": {"from_parameter": "c"}, "dimension": "t",
                              "process": {"process_graph": {"u": run}}},
                "result": True,
            }
        },
        "parameters": [{"name": "c"}],
    }  # fmt: skip
    out = evaluate(graph, env, {"c": cube})
    blocks = sorted(m.split(": ", 1)[1] for m in logs if "block" in m)
    assert blocks == ["block 222 x 102", "block 222 x 418", "block 418 x 102", "block 418 x 418"]
    assert list(out.t.values) == [np.datetime64("2023-09-03")]
    np.testing.assert_allclose(out.values[0], cube.mean("t").values)

"""UDF overhead per chunk: an identity UDF through ``run_udf`` vs the same chunk in-process.

Each chunk is what ``apply_neighborhood`` hands a UDF (here 1 × 2 × 256 × 256 float32,
0.5 MB, and 1 × 2 × 1024 × 1024, 8 MB). The baseline computes the same identity on the
same chunk inside the server process in the same run; the difference per chunk is the
overhead of the sandboxed process (start or reuse, sandbox, data exchange, result
check). Chunks run one after another within one evaluation (one user, one run, one
environment: the case worker reuse serves).

Reported: the first chunk (a worker starts) and the median of the following ones.

Run: ``python benchmarks/bench_udf.py [chunks]`` (needs the UDF sandbox: namespaces).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.udf_process import sandbox_problem
from eostation.engine.registry import default_registry

IDENTITY = """
from openeo.udf import XarrayDataCube

def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    return cube
"""


def chunk(size: int, seed: int) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.random((1, 2, size, size), dtype=np.float32),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": [np.datetime64("2023-06-01", "ns")],
            "bands": ["B04", "B08"],
            "y": np.arange(size, dtype=float),
            "x": np.arange(size, dtype=float),
        },
    )


def run(chunks: int, size: int, data_dir: Path) -> tuple[float, float, float]:
    """Seconds: the first chunk through run_udf (a worker starts), the median of the
    following ones, and the median in-process, for ``chunks`` chunks in one run."""
    limits = EngineLimits.from_settings(Settings(data_dir=data_dir, udf="on"))
    problem = sandbox_problem()
    if not limits.udf_enabled or problem is not None:
        sys.exit(f"UDFs are off here: {problem or 'EOSTATION_UDF=off'}")
    env = EvalContext(default_registry(), limits)
    graph: dict[str, Any] = {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_parameter": "c"},
                    "udf": IDENTITY,
                    "runtime": "Python",
                },
                "result": True,
            }
        }
    }
    cubes = [chunk(size, i) for i in range(chunks)]
    through_udf = []
    for cube in cubes:
        started = time.perf_counter()
        out = evaluate(graph, env, {"c": cube})
        through_udf.append(time.perf_counter() - started)
        assert float(out.values[0, 1, 7, 9]) == float(cube.values[0, 1, 7, 9])
    in_process = []
    for cube in cubes:
        started = time.perf_counter()
        out = (cube.copy(deep=True) * 1).compute()
        in_process.append(time.perf_counter() - started)
        assert float(out.values[0, 1, 7, 9]) == float(cube.values[0, 1, 7, 9])
    env.udf_workers.close()
    return through_udf[0], statistics.median(through_udf[1:]), statistics.median(in_process)


def main() -> None:
    """Print the overhead per chunk for two chunk sizes."""
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    print(f"load average {os.getloadavg()[0]:.1f}, {chunks} chunks per size")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (256, 1024):
            first, udf, local = run(chunks, size, Path(tmp))
            mb = 2 * size * size * 4 / 1e6
            print(
                f"{size}x{size}x2 float32 ({mb:.1f} MB): first chunk {first * 1000:.0f} ms, "
                f"then run_udf {udf * 1000:.0f} ms/chunk vs in-process {local * 1000:.1f} ms: "
                f"overhead {(udf - local) * 1000:.0f} ms/chunk"
            )


if __name__ == "__main__":
    main()

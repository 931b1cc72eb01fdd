"""UDF overhead per chunk: an identity UDF through ``run_udf`` vs the same chunk in-process.

Each chunk is what ``apply_neighborhood`` hands a UDF: 1 × 2 × 256 × 256 float32
(0.5 MiB), 1 × 2 × 1024 × 1024 (8 MiB) and 1 × 4 × 2048 × 2048 (64 MiB). The baseline
computes the same identity on the same chunk inside the server process in the same run;
the difference per chunk is the overhead of the sandboxed process (start or reuse,
sandbox, data exchange, result check). Chunks run one after another within one
evaluation (one user, one run, one environment: the case worker reuse serves).

Reported per size: the first chunk (a worker starts), the median of the following ones,
the in-process median, and the server's CPU seconds per further chunk.

Run: ``python benchmarks/bench_udf.py [chunks] [--compare SRC]`` (needs the UDF sandbox:
namespaces). ``--compare SRC`` also measures another checkout's ``src`` (e.g. the code
before a change, ``git archive main src | tar -x -C /tmp/before``) in a subprocess,
alternating with this one size by size, so both see the same machine load.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
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

SIZES = {"0.5 MiB": (2, 256), "8 MiB": (2, 1024), "64 MiB": (4, 2048)}


def chunk(bands: int, size: int, seed: int) -> xr.DataArray:
    """One chunk of ``bands`` × ``size`` × ``size`` float32 random values."""
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.random((1, bands, size, size), dtype=np.float32),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": [np.datetime64("2023-06-01", "ns")],
            "bands": [f"B{i:02d}" for i in range(bands)],
            "y": np.arange(size, dtype=float),
            "x": np.arange(size, dtype=float),
        },
    )


def run(chunks: int, bands: int, size: int, data_dir: Path) -> dict[str, float]:
    """Seconds: the first chunk through run_udf (a worker starts), the median of the
    following ones (wall and server CPU), and the median in-process."""
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
    through_udf, cpu = [], []
    for i in range(chunks):
        cube = chunk(bands, size, i)
        started, started_cpu = time.perf_counter(), time.process_time()
        out = evaluate(graph, env, {"c": cube})
        total = float(np.asarray(out.values).sum(dtype=np.float64))  # touch every value
        through_udf.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert total == float(cube.values.sum(dtype=np.float64))
        del out
    in_process = []
    for i in range(chunks):
        cube = chunk(bands, size, i)
        started = time.perf_counter()
        out = (cube.copy(deep=True) * 1).compute()
        in_process.append(time.perf_counter() - started)
        assert float(out.values[0, 1, 7, 9]) == float(cube.values[0, 1, 7, 9])
    env.udf_workers.close()
    return {
        "first": through_udf[0],
        "udf": statistics.median(through_udf[1:]),
        "cpu": statistics.median(cpu[1:]),
        "local": statistics.median(in_process),
    }


def _measure(label: str, chunks: int) -> dict[str, float]:
    bands, size = SIZES[label]
    with tempfile.TemporaryDirectory() as tmp:
        return run(chunks, bands, size, Path(tmp))


def _report(name: str, label: str, got: dict[str, float]) -> None:
    print(
        f"{name:>7} {label:>8}: first chunk {got['first'] * 1000:6.0f} ms, then run_udf "
        f"{got['udf'] * 1000:6.0f} ms/chunk (server CPU {got['cpu'] * 1000:5.0f} ms) vs "
        f"in-process {got['local'] * 1000:5.1f} ms: overhead "
        f"{(got['udf'] - got['local']) * 1000:5.0f} ms/chunk",
        flush=True,
    )


def main() -> None:
    """Print the overhead per chunk for three chunk sizes (and of ``--compare SRC``)."""
    args = sys.argv[1:]
    if args[:1] == ["--one"]:  # the subprocess of --compare
        print(json.dumps(_measure(args[1], int(args[2]))))
        return
    compare = None
    if "--compare" in args:
        at = args.index("--compare")
        compare = Path(args[at + 1]).resolve()
        del args[at : at + 2]
    chunks = int(args[0]) if args else 10
    print(f"{chunks} chunks per size; load average {os.getloadavg()[0]:.1f}", flush=True)
    for label in SIZES:
        if compare is not None:
            env = {**os.environ, "PYTHONPATH": str(compare)}
            done = subprocess.run(
                [sys.executable, __file__, "--one", label, str(chunks)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            _report("compare", label, json.loads(done.stdout.splitlines()[-1]))
        _report("this", label, _measure(label, chunks))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

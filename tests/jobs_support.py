"""A deliberately slow, dask-backed process for job tests (progress, cancel, crashes).

Never registered in the server's default registry: in-process tests add it to their own
registry copy, and ``python -m tests.jobs_support worker ...`` is ``eostation worker``
with this process registered in that one interpreter.
"""

from __future__ import annotations

import time

import dask.array as da
import numpy as np
import xarray as xr

from eostation.engine.registry import ProcessRegistry, _build, process

SLOW_ID = "eostation_test_slow_sum"


def slow_sum(n: int, seconds: float) -> xr.DataArray:
    """Sum ``n`` chunks of ones, each taking ``seconds`` to compute.

    Args:
        n: Number of chunks.
        seconds: Time per chunk.

    Returns:
        The sum, lazily.
    """

    def work(block: np.ndarray) -> np.ndarray:
        time.sleep(seconds)
        return block

    ones = da.ones(int(n), chunks=1).map_blocks(work, dtype=float)
    return xr.DataArray(ones.sum())


def with_slow(registry: ProcessRegistry) -> ProcessRegistry:
    """``registry`` plus the slow process."""
    registry.add(
        _build(
            SLOW_ID, slow_sum, categories=(), exceptions={}, hidden=frozenset(), experimental=False
        )
    )
    return registry


def slow_graph(n: int = 20, seconds: float = 0.2) -> dict[str, object]:
    return {
        "process_graph": {
            "s": {"process_id": SLOW_ID, "arguments": {"n": n, "seconds": seconds}, "result": True}
        }
    }


if __name__ == "__main__":
    process(SLOW_ID)(slow_sum)
    from eostation.cli import main

    main()

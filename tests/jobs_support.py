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
BUSY_ID = "eostation_test_busy_sum"


def slow_sum(n: int, seconds: float, steps: int = 0) -> xr.DataArray:
    """Sum ``n`` chunks of ones, each taking ``seconds`` to compute.

    Args:
        n: Number of chunks.
        seconds: Time per chunk.
        steps: Element-wise steps (each adds 0) after the slow one; dask fuses them into
            it, so the graph run has fewer tasks than the graph built.

    Returns:
        The sum, lazily.
    """

    def work(block: np.ndarray) -> np.ndarray:
        time.sleep(seconds)
        return block

    ones = da.ones(int(n), chunks=1).map_blocks(work, dtype=float)
    for _ in range(int(steps)):
        ones = ones + 0.0
    return xr.DataArray(ones.sum())


def busy_sum(n: int, seconds: float) -> xr.DataArray:
    """Like :func:`slow_sum`, but each chunk keeps its thread busy (CPU) for ``seconds``.

    Args:
        n: Number of chunks.
        seconds: CPU time per chunk.

    Returns:
        The sum, lazily.
    """

    def work(block: np.ndarray) -> np.ndarray:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
        return block

    ones = da.ones(int(n), chunks=1).map_blocks(work, dtype=float)
    return xr.DataArray(ones.sum())


def with_slow(registry: ProcessRegistry) -> ProcessRegistry:
    """``registry`` plus the slow and the busy process."""
    for pid, function in ((SLOW_ID, slow_sum), (BUSY_ID, busy_sum)):
        registry.add(
            _build(
                pid, function, categories=(), exceptions={}, hidden=frozenset(), experimental=False
            )
        )
    return registry


def slow_graph(
    n: int = 20, seconds: float = 0.2, busy: bool = False, steps: int = 0
) -> dict[str, object]:
    """A graph of the slow process (``busy``: the CPU-bound one) with ``n`` chunks."""
    pid = BUSY_ID if busy else SLOW_ID
    arguments: dict[str, object] = {"n": n, "seconds": seconds}
    if steps:
        arguments["steps"] = steps
    return {"process_graph": {"s": {"process_id": pid, "arguments": arguments, "result": True}}}


if __name__ == "__main__":
    process(SLOW_ID)(slow_sum)
    process(BUSY_ID)(busy_sum)
    from eostation.cli import main

    main()

"""Warm a runner before its first job: run a tiny graph through the engine once.

The first batch job after ``eostation serve`` used to take 5-11 s where later tiny jobs
take 0.2 s: the runner imported the process implementations, the writers and GDAL on
first use, the demo world built its caches, and every Dask worker process imported the
same modules again when the first tasks arrived. A runner that computes one small mean
over time of a demo collection, written as GTiff, on its own Dask client when it has
one, pays all of that before it claims a job.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eostation.engine.limits import EngineLimits
from eostation.jobs import execute
from eostation.jobs.preload import preload

if TYPE_CHECKING:
    from eostation.jobs.runner import Runner

__all__ = ["WARM_UP_PROCESS", "warm_up"]

log = logging.getLogger("eostation.jobs")


def _mean_over_time() -> dict[str, Any]:
    reducer = {
        "process_graph": {
            "m": {
                "process_id": "mean",
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }
    return {
        "process_graph": {
            "load": {
                "process_id": "load_collection",
                "arguments": {
                    "id": "SENTINEL2_L2A",
                    "spatial_extent": {"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21},
                    "temporal_extent": ["2022-05-01", "2022-05-20"],
                    "bands": ["B04", "B08"],
                },
            },
            "mean": {
                "process_id": "reduce_dimension",
                "arguments": {"data": {"from_node": "load"}, "dimension": "t", "reducer": reducer},
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "mean"}, "format": "GTiff"},
                "result": True,
            },
        }
    }


WARM_UP_PROCESS = _mean_over_time()
"""The graph a runner computes before its first job (a few thousand demo pixels)."""


def warm_up(runner: Runner, directory: Path | None = None) -> list[Path]:
    """Compute :data:`WARM_UP_PROCESS` with the runner's registries and Dask client.

    Writes into ``directory`` (a temporary folder, removed afterwards, when None) and
    returns the files written. Never raises: a runner whose warm-up fails (say, a
    ``collections.toml`` that hides the demo collection) still runs jobs, only the first
    one is slower.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="eostation-warmup-") as tmp:
        target = directory if directory is not None else Path(tmp)
        try:
            if runner.client is not None:
                runner.client.run(preload)
            run = execute.evaluate_lazily(
                WARM_UP_PROCESS,
                registry=runner.registry,
                formats=runner.formats,
                collections=runner.collections,
                log=lambda *_: None,
                cancelled=runner.shutdown.is_set,
                user_id=None,
                limits=EngineLimits.from_settings(runner.settings, accounts=1),
            )
            execute.write_outputs(
                run,
                target,
                formats=runner.formats,
                progress=lambda _p: None,
                cancelled=runner.shutdown.is_set,
                client=runner.client,
            )
        except Exception:
            log.warning("runner %s: warm-up failed; the first job may be slower", runner.id,
                        exc_info=True)  # fmt: skip
            return []
        log.info("runner %s warmed up in %.1f s", runner.id, time.perf_counter() - started)
        return [f.path for f in run.files]

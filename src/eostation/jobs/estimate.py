"""The estimate of a process graph (``GET /jobs/{id}/estimate``): costs, duration and
size from a lazy dry run, without HTTP and without a job store.

It runs in the API's graph worker processes (:mod:`eostation.jobs.graphworker`); the
evaluation context comes from :func:`eostation.jobs.execute.evaluate_lazily`, as for every
other path that runs a graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from eostation.data.registry import CollectionRegistry
from eostation.engine.context import Cancelled
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry
from eostation.errors import (
    EstimateComplexity,
    OpenEOError,
    ProcessGraphComplexity,
    RequestTimeout,
)
from eostation.formats.registry import FormatRegistry
from eostation.jobs.costs import PIXELS_PER_CPU_SECOND, costs_of, iso_duration
from eostation.jobs.store import utcnow

__all__ = ["estimate_process"]


def estimate_process(
    process: Mapping[str, Any],
    *,
    user_id: str,
    registry: ProcessRegistry,
    limits: EngineLimits,
    collections: CollectionRegistry,
    formats: FormatRegistry,
    timeout_seconds: float,
    udp: Callable[[str], dict[str, Any] | None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """The openEO estimate document of ``process`` (a job's ``process``).

    ``cancelled`` stops the dry run; it also stops after ``timeout_seconds``
    (``RequestTimeout``). A graph error keeps its own code; a server-side failure
    becomes ``EstimateComplexity``.
    """
    # Imported here: the engine (and dask) load only when an estimate is asked for.
    from eostation.jobs.execute import evaluate_lazily

    t0 = time.monotonic()
    deadline = t0 + timeout_seconds
    try:
        run = evaluate_lazily(
            process,
            registry=registry,
            limits=limits,
            formats=formats,
            collections=collections,
            log=lambda *_: None,
            cancelled=lambda: cancelled() or time.monotonic() > deadline,
            user_id=user_id,
            udp=udp,
        )
    except Cancelled:
        raise RequestTimeout(seconds=timeout_seconds) from None
    except ProcessGraphComplexity:
        raise
    except OpenEOError as err:
        if err.status < 500:
            raise  # the graph is wrong: say what is wrong, with its own code
        raise EstimateComplexity(reason=err.message) from None
    cpu = max(time.monotonic() - t0, run.input_pixels / PIXELS_PER_CPU_SECOND)
    size = run.output_nbytes or 1024
    return {
        "costs": costs_of(cpu, run.input_pixels, size),
        "duration": iso_duration(cpu + 0.2),
        "size": int(size),
        "downloads_included": None,
        "expires": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

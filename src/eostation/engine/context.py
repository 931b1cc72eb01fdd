"""What a running process graph carries along: :class:`EvalContext` and :class:`Callback`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import xarray as xr

from eostation.engine.limits import EngineLimits

if TYPE_CHECKING:
    from eostation.data.base import LoadRequest
    from eostation.engine.processes.cubes.udf_pool import UdfWorkers
    from eostation.engine.registry import ProcessRegistry

__all__ = [
    "Callback",
    "Cancelled",
    "EngineLimits",
    "EvalContext",
    "LogSink",
    "OutputFormats",
    "no_log",
]


LogSink = Callable[[str, str, Any], None]
"""``(level, message, data)``; level is one of ``error``, ``warning``, ``info``, ``debug``."""

OutputFormats = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]
"""``(format, options) -> (canonical name, checked options)``; raises on an unknown format
or a wrong option (the format registry's ``check_output``)."""


class Cancelled(Exception):
    """The run was stopped (job canceled, request timed out or gone, server shutting down).

    The one signal for both the evaluation and the writers; whoever stopped the run
    decides what it means (``RequestTimeout`` for ``POST /result``, a requeue on shutdown).
    """


def no_log(level: str, message: str, data: Any) -> None:
    """A log sink that drops everything."""


def _never_cancelled() -> bool:
    return False


def _no_udp(process_id: str) -> dict[str, Any] | None:
    return None


def _no_collections(collection_id: str, request: LoadRequest) -> xr.DataArray:
    from eostation.errors import CollectionNotFound

    raise CollectionNotFound(identifier=collection_id)


def _no_job_files(job_id: str) -> Mapping[str, Path]:
    from eostation.errors import FeatureUnsupported

    raise FeatureUnsupported(message=f"'{job_id}': this run cannot read batch job results.")


def _no_output_formats(name: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from eostation.errors import FeatureUnsupported

    raise FeatureUnsupported(message=f"save_result('{name}'): this run cannot write files.")


def _no_job_results(job_id: str) -> xr.DataArray:
    from eostation.errors import FeatureUnsupported

    raise FeatureUnsupported(
        message=f"load_result('{job_id}'): this run cannot read batch job results."
    )


def _udf_workers() -> UdfWorkers:
    from eostation.engine.processes.cubes.udf_pool import UdfWorkers

    return UdfWorkers()


@dataclass(frozen=True)
class EvalContext:
    """Everything a process may need beyond its arguments.

    A process asks for it by declaring a keyword-only parameter annotated
    ``EvalContext`` (any name); that parameter never shows up in ``/processes``.

    ``load_collection(collection_id, request)`` returns a lazy cube (the data layer);
    ``udp(process_id)`` returns a stored user-defined process (``{"id", "parameters",
    "process_graph", ...}``) or None; ``log(level, message, data)`` receives what
    ``inspect`` emits; ``cancelled()`` turns True when the job or request was stopped;
    ``user_id`` is None for anonymous runs. ``limits`` (required) are what the run may do
    and use (UDFs on or off, their rlimits, download and graph sizes), built from the
    settings by :meth:`EngineLimits.from_settings`; ``depth`` is the user-defined process
    nesting.
    ``results`` is the sink of ``save_result``: it appends ``(data, format, options)``
    (options already validated by ``output_format(format, options)``, the lookup in the
    same format registry whose writers run later) and the caller writes them after
    evaluation; unset, ``output_format`` raises ``FeatureUnsupported``.
    ``load_result(job_id)`` returns a finished batch job's result as a lazy cube (the
    jobs layer provides it; unset it raises ``FeatureUnsupported``). ``job_files(job_id)``
    maps the result files of such a job to their paths (``load_ml_model``; same rule).
    ``udf_workers`` are the reusable UDF processes of this run (one user's run: contexts
    derived with ``dataclasses.replace`` share them), ended when it is garbage-collected.
    ``node_id`` is the id of the node whose process is running (set by the evaluator
    for processes that ask for the context), so their log entries can name it.
    """

    registry: ProcessRegistry
    limits: EngineLimits
    load_collection: Callable[[str, LoadRequest], xr.DataArray] = _no_collections
    udp: Callable[[str], dict[str, Any] | None] = _no_udp
    log: LogSink = no_log
    user_id: str | None = None
    cancelled: Callable[[], bool] = _never_cancelled
    depth: int = 0
    results: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)
    load_result: Callable[[str], xr.DataArray] = _no_job_results
    job_files: Callable[[str], Mapping[str, Path]] = _no_job_files
    output_format: OutputFormats = _no_output_formats
    node_id: str | None = None
    udf_workers: UdfWorkers = field(default_factory=_udf_workers)


class Callback(Protocol):
    """A child process graph (``{"process_graph": ...}`` argument) made callable.

    Call it with keyword arguments named as the callback's parameters, e.g.
    ``reducer(data=LabeledArray(cube, "t"), context=context)``; it returns the value of
    its result node. ``parameters`` lists the names the child graph refers to.
    """

    parameters: frozenset[str]

    def __call__(self, **arguments: Any) -> Any:
        """Evaluate the child graph with these parameter values."""
        ...

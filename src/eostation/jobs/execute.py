"""The seam between jobs and the engine: run one process graph and write its outputs.

The runner, the synchronous ``POST /result`` and ``eostation run`` call the engine and
the format writers only through this module, in two steps. :func:`evaluate_lazily`
evaluates the graph with an :class:`EvalContext`; ``save_result`` appends ``(data,
format, options)`` to the context's result list. :func:`write_outputs` then computes
and writes each output. A graph without ``save_result`` gives a plain value,
written as JSON. Dask work is tracked for progress and stopped on cancellation:

- local (no scheduler): a dask callback (:mod:`eostation.jobs.progress`) counts
  finished tasks and raises
  :class:`Cancelled` before the next task once ``cancelled()`` turns True;
- distributed: each output is persisted on the cluster first; progress is the share of
  its chunks that are done, and cancellation cancels the futures.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.registry import CollectionRegistry
from eostation.engine.context import Cancelled, EvalContext, LogSink
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry
from eostation.engine.validation import validate
from eostation.errors import CollectionNotFound, FeatureUnsupported, JobNotFinished, OpenEOError
from eostation.formats.output import OutputFile
from eostation.formats.registry import FormatRegistry
from eostation.jobs.model import Job, JobStatus

if TYPE_CHECKING:
    from eostation.jobs.store import JobStore

__all__ = [
    "Cancelled",
    "GraphRun",
    "Output",
    "evaluate_lazily",
    "finished_job_files",
    "load_finished_job",
    "open_job_result",
    "write_outputs",
]

ProgressSink = Callable[[float], None]


@dataclasses.dataclass
class Output:
    """One thing a graph asked to save."""

    data: Any
    format: str
    options: dict[str, Any]


@dataclasses.dataclass
class GraphRun:
    """What running a graph produced: the files and figures for usage accounting."""

    files: list[OutputFile] = dataclasses.field(default_factory=list)
    outputs: list[Output] = dataclasses.field(default_factory=list)
    input_pixels: int = 0
    output_cells: int = 0
    output_nbytes: int = 0


def _size(data: Any) -> tuple[int, int]:
    """``(cells, bytes)`` of an array-like, (0, 0) for plain values."""
    size, nbytes = getattr(data, "size", None), getattr(data, "nbytes", None)
    if isinstance(size, int) and isinstance(nbytes, int) and hasattr(data, "dims"):
        return size, nbytes
    return 0, 0


def evaluate_lazily(
    process: Mapping[str, Any],
    *,
    registry: ProcessRegistry,
    limits: EngineLimits,
    formats: FormatRegistry,
    collections: CollectionRegistry | None = None,
    log: LogSink,
    cancelled: Callable[[], bool],
    user_id: str | None,
    udp: Callable[[str], dict[str, Any] | None] | None = None,
    load_result: Callable[[str], Any] | None = None,
    job_files: Callable[[str], Mapping[str, Path]] | None = None,
) -> GraphRun:
    """Evaluate the graph without writing anything: the outputs, still lazy where possible.

    This builds the :class:`EvalContext` for every path that runs a graph (``POST
    /result``, batch jobs, estimates, ``eostation run``); ``limits`` come from
    :meth:`EngineLimits.from_settings`; ``formats`` is the registry whose writers
    :func:`write_outputs` runs (``save_result`` checks its options against it). ``udp``
    looks up the user's stored processes, ``load_result`` opens a finished job's results
    as a cube (:func:`open_job_result`), ``job_files`` lists its result files
    (:func:`finished_job_files`).
    """
    run = GraphRun()

    def load(collection_id: str, request: LoadRequest) -> Any:
        if collections is None:
            raise CollectionNotFound(identifier=collection_id)
        cube = collections.get(collection_id).load(request)
        run.input_pixels += _size(cube)[0]
        return cube

    results: list[Any] = []
    base: dict[str, Any] = {
        "registry": registry,
        "limits": limits,
        "load_collection": load,
        "log": log,
        "user_id": user_id,
        "cancelled": cancelled,
        "output_format": formats.check_output,
    }
    if udp is not None:
        base["udp"] = udp
    if load_result is not None:
        base["load_result"] = load_result
    if job_files is not None:
        base["job_files"] = job_files
    graph = process if "process_graph" in process else {"process_graph": process}
    context = EvalContext(**base, results=results)
    problems = validate(graph, registry, udp=context.udp, limits=limits)
    if problems:
        raise _locate(problems[0], graph["process_graph"])
    value = evaluate(graph, context, check=False)
    for item in results:
        data, fmt, options = [*item, None, None][:3]
        run.outputs.append(Output(data, str(fmt or "GTiff"), dict(options or {})))
    if not run.outputs:
        run.outputs.append(Output(value, "JSON", {}))
    for out in run.outputs:
        cells, nbytes = _size(out.data)
        run.output_cells += cells
        run.output_nbytes += nbytes
    return run


def _finished(store: JobStore, user_id: str, job_id: str) -> Job:
    """A finished job of ``user_id`` (``JobNotFinished`` otherwise)."""
    job = store.get(user_id, job_id)
    if job.status is not JobStatus.FINISHED or not job.result_dir:
        raise JobNotFinished(identifier=job_id, status=job.status.value)
    return job


def _recorded_dir(job: Job) -> Path:
    return Path(job.result_dir or "")


def load_finished_job(
    store: JobStore,
    formats: FormatRegistry,
    user_id: str,
    job_id: str,
    *,
    local_dir: Callable[[Job], Path] = _recorded_dir,
) -> xr.DataArray:
    """``load_result``: a finished job of ``user_id`` as a lazy cube (:func:`open_job_result`).

    ``local_dir(job)`` gives a local directory of its files (object storage copies them).
    """
    job = _finished(store, user_id, job_id)
    return open_job_result(local_dir(job), job.results or {}, formats)


def finished_job_files(
    store: JobStore, user_id: str, job_id: str, *, local_dir: Callable[[Job], Path] = _recorded_dir
) -> dict[str, Path]:
    """``job_files``: the result files of a finished job of ``user_id``, by asset name."""
    job = _finished(store, user_id, job_id)
    base = local_dir(job)
    return {str(name): base / str(name) for name in job.results or {}}


def open_job_result(
    result_dir: Path, assets: Mapping[str, Any], formats: FormatRegistry
) -> xr.DataArray:
    """A finished job's result files as one lazy cube (netCDF, or GeoTIFFs stacked on ``t``)."""
    by_type = {name: str(a.get("type", "")) for name, a in assets.items()}
    netcdf = [n for n, t in by_type.items() if "netcdf" in t or n.endswith(".nc")]
    if netcdf:
        return formats.get_reader("netCDF").read(result_dir / netcdf[0])
    tiffs = sorted(n for n, t in by_type.items() if "tiff" in t)
    if not tiffs:
        raise FeatureUnsupported(
            message="load_result reads netCDF or GeoTIFF results; this job produced neither."
        )
    reader = formats.get_reader("GTiff")
    cubes = [reader.read(result_dir / n) for n in tiffs]
    times = [assets[n].get("datetime") for n in tiffs]
    if len(cubes) == 1 and not times[0]:
        return cubes[0]
    stamps = pd.to_datetime([t.rstrip("Z") if t else None for t in times])
    cubes = [c.squeeze("t", drop=True) if "t" in c.dims else c for c in cubes]
    return xr.concat(cubes, dim=pd.Index(stamps, name="t"))


def _locate(err: OpenEOError, nodes: Mapping[str, Any]) -> OpenEOError:
    """Name the node a validation problem is about (by its process id) when it does not."""
    if "node_id" in err.params:
        return err
    process_id = err.params.get("process")
    for node_id, node in nodes.items():
        if isinstance(node, Mapping) and process_id and node.get("process_id") == process_id:
            err.params.update(node_id=node_id, process_id=process_id)
            break
    return err


def _task_count(data: Any) -> int:
    graph = getattr(data, "__dask_graph__", None)
    if graph is None:
        return 0
    dsk = graph()
    return len(dsk) if dsk is not None else 0


def _task_states(dask_scheduler: Any, keys: list[Any]) -> list[str | None]:
    """Runs on the scheduler: the state of each task (None when unknown or forgotten)."""
    out: list[str | None] = []
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        out.append(None if ts is None else str(ts.state))
    return out


def _persist_on_cluster(
    data: Any, client: Any, report: ProgressSink, cancelled: Callable[[], bool]
) -> Any:
    """Run ``data``'s graph on the cluster, reporting task progress; returns it persisted.

    Progress is the share of the graph's tasks that the scheduler has computed (a task
    counts as done once it was seen in memory, or seen and then forgotten).
    """
    from distributed import futures_of

    from eostation.jobs.cluster import SchedulerLost, job_priority, lost_scheduler

    keys = list(data.__dask_graph__().keys())
    # fifo_timeout=0: each job is a new Dask generation, so jobs of one size class run
    # first come first served (Dask would otherwise interleave graphs submitted within 60 s).
    persisted = client.persist(
        data, optimize_graph=False, priority=job_priority(len(keys)), fifo_timeout=0
    )
    futures = futures_of(persisted)
    seen: set[int] = set()
    done: set[int] = set()
    while True:
        if cancelled():
            client.cancel(futures)
            raise Cancelled()
        if lost_scheduler(client):  # its futures are gone: asking the scheduler would hang
            raise SchedulerLost()
        finished = all(f.done() for f in futures)
        try:
            states = client.run_on_scheduler(_task_states, keys=keys)
        except Exception:  # progress is best effort; the computation goes on
            states = [None] * len(keys)
        for i, state in enumerate(states):
            if state in ("memory", "erred") or (state is None and i in seen):
                done.add(i)
            elif state is not None:
                seen.add(i)
        report(min(99.0, 100.0 * len(done) / max(1, len(keys))))
        if finished:
            break
        time.sleep(0.2)
    for f in futures:
        if f.status == "error":
            f.result()  # raises the task's exception
        if f.status == "cancelled":  # not by us: the client lost the scheduler
            raise SchedulerLost()
    return persisted


def write_outputs(
    run: GraphRun,
    directory: Path,
    *,
    formats: FormatRegistry,
    progress: ProgressSink,
    cancelled: Callable[[], bool],
    client: Any = None,
    on_file: Callable[[OutputFile], None] | None = None,
) -> None:
    """Compute every output of ``run`` and write it into ``directory`` (adds to ``run.files``).

    ``progress`` gets 0-99 while dask tasks complete; ``cancelled`` is polled before
    each task (raises :class:`Cancelled`); ``client`` is a ``distributed.Client`` or
    None for the local threaded scheduler; ``on_file`` hears of each written file.
    """
    if cancelled():
        raise Cancelled()
    expected = 0
    if client is None:
        # Imported here: dask stays out of the API process until a graph is written.
        from eostation.jobs.progress import optimized_task_count

        expected = sum(optimized_task_count(o.data) for o in run.outputs)
    for out in run.outputs:
        writer = formats.get_writer(out.format)
        writer.check_options(out.options)
        data = out.data
        if client is not None and _task_count(data):
            data = _persist_on_cluster(data, client, progress, cancelled)
            with client.as_current():  # the writer's compute() gathers through this client
                files = writer.write(data, directory, out.options)
        else:
            # Imported here: dask stays out of the API process until a graph is written.
            from eostation.jobs.progress import TaskCounter

            with TaskCounter(expected, progress, cancelled):
                files = writer.write(data, directory, out.options)
        for f in files:
            if on_file is not None:
                on_file(f)
        run.files.extend(files)
        if cancelled():
            raise Cancelled()

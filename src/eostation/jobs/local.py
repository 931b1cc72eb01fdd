"""Run a process graph on this machine, without a server (``eostation run``)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eostation.config import Settings
from eostation.engine.context import LogSink
from eostation.engine.graph import flat_graph
from eostation.engine.limits import EngineLimits
from eostation.errors import ProcessGraphMissing
from eostation.jobs.execute import Output, evaluate_lazily, write_outputs
from eostation.outbound import OutboundPolicy

__all__ = ["FORMAT_BY_SUFFIX", "read_process", "run_local"]

FORMAT_BY_SUFFIX = {
    ".tif": "GTiff",
    ".tiff": "GTiff",
    ".nc": "netCDF",
    ".json": "JSON",
    ".csv": "CSV",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".png": "PNG",
    ".zarr": "Zarr",
}
"""Output format for a graph without ``save_result``, from the ``-o`` file name."""


def read_process(path: Path) -> dict[str, Any]:
    """A process from a JSON file: bare nodes, ``{"process_graph": …}`` or ``{"process": …}``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProcessGraphMissing(
            message=f"Cannot read a process graph from {path}: {exc}"
        ) from None
    if not isinstance(doc, Mapping):
        raise ProcessGraphMissing()
    process = doc.get("process", doc)
    if isinstance(process, Mapping) and isinstance(process.get("process_graph"), Mapping):
        return dict(process)
    return {"process_graph": dict(flat_graph(doc))}


def _has_save_result(process: Mapping[str, Any]) -> bool:
    return any(
        isinstance(n, Mapping) and n.get("process_id") == "save_result"
        for n in process["process_graph"].values()
    )


def run_local(
    process: Mapping[str, Any],
    output: Path | None,
    settings: Settings,
    *,
    log: LogSink,
    progress: Callable[[float], None],
) -> list[Path]:
    """Evaluate ``process`` with the configured collections and write its results.

    ``output``: a file name when the graph yields one file, a folder otherwise (created);
    None writes into the current folder under the writers' own names. A graph without
    ``save_result`` is written in the format that ``output``'s suffix names (JSON else).
    """
    from eostation.data.registry import build_registry
    from eostation.engine.registry import default_registry
    from eostation.formats.registry import default_formats

    formats = default_formats()
    run = evaluate_lazily(
        process,
        registry=default_registry(),
        formats=formats,
        collections=build_registry(
            settings.data_dir, OutboundPolicy.from_settings(settings), settings.storage.options
        ),
        log=log,
        cancelled=lambda: False,
        user_id="local",
        # The user's own machine: one account, so ``udf = auto`` means on.
        limits=EngineLimits.from_settings(settings, accounts=1),
    )
    if output is not None and not _has_save_result(process):
        fmt = FORMAT_BY_SUFFIX.get(output.suffix.lower(), "JSON")
        run.outputs = [Output(o.data, fmt, {}) for o in run.outputs]
    target_dir = (output.parent if output is not None else Path.cwd()).resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".eostation-run-", dir=target_dir))
    try:
        # The threaded scheduler named as a function: without one, dask imports
        # dask.distributed (a second of imports) only to find that no client is running.
        import dask
        import dask.threaded

        with dask.config.set(scheduler=dask.threaded.get):
            write_outputs(run, tmp, formats=formats, progress=progress, cancelled=lambda: False)
        written = [f.path for f in run.files]
        if output is not None and len(written) == 1 and not output.is_dir():
            destinations = [output]
        else:
            folder = output if output is not None else target_dir
            folder.mkdir(parents=True, exist_ok=True)
            destinations = [folder / p.name for p in written]
        for src, dst in zip(written, destinations, strict=True):
            if dst.exists():
                shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
            shutil.move(str(src), dst)
        return destinations
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

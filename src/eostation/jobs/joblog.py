"""Writing job logs: a small logger bound to one job, and how failures are explained."""

from __future__ import annotations

import json
from typing import Any

from eostation.errors import OpenEOError
from eostation.jobs.store import JobStore

__all__ = ["JobLogger", "describe_failure", "json_data"]

# What a user can do about the most common failures, by openEO error code.
_ADVICE = {
    "ProcessParameterInvalid": "Fix the argument of that node and start the job again.",
    "ProcessParameterRequired": "Add the missing argument to that node and start the job again.",
    "ProcessParameterUnsupported": "Remove the unknown argument from that node.",
    "ProcessUnsupported": "GET /processes lists the processes this back-end offers.",
    "CollectionNotFound": "GET /collections lists the collections this back-end offers.",
    "ProcessGraphInvalid": "Correct the process graph and start the job again.",
    "FormatUnsuitable": "Choose another output format in save_result (GET /file_formats).",
    "FileTypeInvalid": "Choose an output format from GET /file_formats.",
    "DataCubeEmpty": "Check the spatial and temporal extent: no data matched it.",
}


def json_data(value: Any) -> Any:
    """``value`` made JSON-able for a log entry (cubes become a short description)."""
    try:
        # Imported here: formats.cubes pulls in odc-geo and with it dask, which the API
        # process must not import before it computes anything.
        from eostation.formats.cubes import json_safe

        safe = json_safe(value)
        json.dumps(safe, allow_nan=False)
        return safe
    except Exception:
        dims = getattr(value, "dims", None)
        if dims is not None:
            return {
                "type": type(value).__name__,
                "dims": [str(d) for d in dims],
                "shape": [int(n) for n in getattr(value, "shape", ())],
                "dtype": str(getattr(value, "dtype", "")),
            }
        return repr(value)[:2000]


def describe_failure(exc: BaseException) -> tuple[str, str, list[dict[str, Any]] | None]:
    """``(message, code, path)`` for the error log entry of a failed run.

    The message names the failing node (its id and process) when the engine reported
    it, says what went wrong, and what to change.
    """
    if isinstance(exc, OpenEOError):
        node_id = exc.params.get("node_id")
        process_id = exc.params.get("process_id")
        path = [{"node_id": str(node_id), "process_id": str(process_id)}] if node_id else None
        where = f"Node '{node_id}' ({process_id}) failed: " if node_id else "The job failed: "
        advice = _ADVICE.get(exc.code, "")
        # The engine may already have appended "[node 'x', process 'y']"; say it once.
        detail = exc.message.replace(f" [node '{node_id}', process '{process_id}']", "")
        message = f"{where}{detail}"
        if advice:
            message += f" {advice}"
        return message, exc.code, path
    return (
        f"The job failed with an unexpected {type(exc).__name__}: {str(exc).rstrip('.')}. "
        "This is probably a bug "
        "in eostation; please report it with the job id.",
        "Internal",
        None,
    )


class JobLogger:
    """Appends entries to one job's log."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id

    def _add(self, level: str, message: str, **extra: Any) -> None:
        self.store.log(self.job_id, level, message, **extra)

    def debug(self, message: str, **extra: Any) -> None:
        """Add a debug entry."""
        self._add("debug", message, **extra)

    def info(self, message: str, **extra: Any) -> None:
        """Add an info entry."""
        self._add("info", message, **extra)

    def warning(self, message: str, **extra: Any) -> None:
        """Add a warning entry."""
        self._add("warning", message, **extra)

    def error(self, message: str, **extra: Any) -> None:
        """Add an error entry."""
        self._add("error", message, **extra)

    def engine_sink(self, level: str, message: str, data: Any) -> None:
        """The engine's log sink (``inspect`` and process warnings)."""
        level = level if level in ("debug", "info", "warning", "error") else "info"
        self._add(level, message, data=None if data is None else json_data(data))

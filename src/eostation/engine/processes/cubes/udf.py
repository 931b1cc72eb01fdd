"""``run_udf``: Python user-defined functions, run in a separate, limited process.

The UDF source is run by the official ``openeo.udf`` API (``apply_datacube``,
``apply_timeseries``, ``apply_udf_data`` entry points, ``XarrayDataCube``, ``context``)
in a fresh interpreter (:mod:`.udf_child`, started and ended by :mod:`.udf_process`):
its own uid, an empty environment, the server's data directory hidden, rlimits on CPU,
memory, processes and file size, no network, and every process of the run killed at
the wall-clock limit or when it ends. Data cross the process boundary only as JSON and
NumPy arrays (:mod:`.udf_protocol`), never as pickles. What the UDF prints or logs is
forwarded to ``EvalContext.log``.

The data handed to the UDF are computed first (a UDF sees numbers, not a dask graph),
so UDFs belong on modest inputs, e.g. inside ``apply_neighborhood`` tiles.

Limits come from ``EvalContext.limits`` (:class:`~eostation.engine.limits.EngineLimits`):
``udf_enabled`` (off unless the settings allow it), ``udf_timeout_seconds``,
``udf_cpu_seconds``, ``udf_memory_mb``, ``udf_max_processes``, ``udf_hidden_paths``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes import udf_process, udf_protocol
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import PermissionsInsufficient, ProcessParameterInvalid

__all__ = ["RUNTIMES", "run_udf"]

RUNTIMES = {"python": ("3",)}
"""UDF runtimes and their versions."""

_CHILD = Path(__file__).with_name("udf_child.py")
_UDF = Annotated[
    str,
    Param(
        [
            {"type": "string", "format": "uri", "subtype": "uri", "pattern": "^https?://"},
            {"type": "string", "subtype": "file-path", "pattern": "^[^\r\n\\:'\"]+$"},
            {"type": "string", "subtype": "udf-code", "pattern": "(\r\n|\r|\n)"},
        ]
    ),
]


def _invalid(parameter: str, reason: str, exception: str | None = None) -> ProcessParameterInvalid:
    extra = {"exception": exception} if exception else {}
    return ProcessParameterInvalid(process="run_udf", parameter=parameter, reason=reason, **extra)


def _source(udf: str, env: EvalContext) -> str:
    if "\n" in udf or "\r" in udf:
        return udf
    if udf.startswith(("http://", "https://")):
        try:
            with env.limits.outbound.client(timeout=20) as http:
                response = http.get(udf)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise _invalid("udf", f"the UDF could not be fetched from {udf}: {exc}") from exc
        return response.text
    raise _invalid("udf", f"UDF files ('{udf}') are not supported; send the code", "FileNotFound")


def _as_input(data: Any) -> tuple[Any, str | None]:
    """The value sent to the child (computed) and the labeled dimension to restore."""
    if isinstance(data, LabeledArray):
        return _text_labels(data.data.compute()), data.dim
    if isinstance(data, xr.DataArray):
        return _text_labels(data.compute()), None
    return data, None


def _text_labels(cube: xr.DataArray) -> xr.DataArray:
    """``cube`` with labels held as Python strings (e.g. merged band names) as a text array,
    and booleans as 0/1 float32: UDFs write NaN or infinity into arrays shaped like their
    input (the published EFAST graph's ``np.full_like(array, np.inf)``)."""
    if cube.dtype.kind == "b":
        cube = cube.astype(np.float32)
    text = {
        name: coord.values.astype(str)
        for name, coord in cube.coords.items()
        if coord.dtype.hasobject and all(isinstance(v, str) for v in coord.values.ravel())
    }
    return cube.assign_coords({k: (cube.coords[k].dims, v) for k, v in text.items()})


def _forward(env: EvalContext, text: str, level: str) -> None:
    for line in text.splitlines():
        if line.strip():
            env.log(level, f"UDF: {line}", None)


def execute_udf(code: str, data: Any, context: Any, env: EvalContext) -> Any:
    """Run ``code`` on ``data`` in an isolated child process and return its result."""
    limits = env.limits
    with tempfile.TemporaryDirectory(prefix="eostation-udf-") as tmp:
        workdir = Path(tmp)
        try:
            udf_protocol.write_message(
                workdir / "in",
                {"code": code, "data": data, "context": context if context is not None else {}},
            )
        except udf_protocol.ProtocolError as exc:
            raise _invalid("data", f"this data cannot be handed to a UDF: {exc}") from None
        uid = udf_process.run_uid()
        launch = {
            "cpu_seconds": limits.udf_cpu_seconds,
            "memory_bytes": limits.udf_memory_mb * 1024 * 1024,
            "file_bytes": limits.udf_memory_mb * 1024 * 1024,
            "max_processes": limits.udf_max_processes,
            "uid": uid,
            "hidden": list(limits.udf_hidden_paths),
        }
        (workdir / "launch.json").write_text(json.dumps(launch))
        ended = udf_process.run_child(workdir, _CHILD, uid, limits.udf_timeout_seconds)
        _forward(env, udf_process.tail(workdir / "stdout"), "info")
        _forward(env, udf_process.tail(workdir / "stderr"), "warning")
        if ended.timed_out:
            raise _invalid(
                "udf", f"the UDF ran longer than {limits.udf_timeout_seconds:g} s and was stopped"
            )
        try:
            outcome = udf_protocol.read_message(workdir / "out")
        except (udf_protocol.ProtocolError, ValueError, OSError) as exc:
            reason = "the UDF process ended without a valid result"
            if ended.returncode and ended.returncode < 0:
                reason += f" (killed by signal {-ended.returncode}: CPU or memory limit)"
            raise _invalid("udf", f"{reason}: {exc}") from None
    if not isinstance(outcome, dict):
        raise _invalid("udf", "the UDF process ended without a valid result")
    for note in outcome.get("isolation") or []:
        env.log("warning", f"UDF isolation: {note}", None)
    if "error" in outcome:
        detail = outcome.get("traceback") or outcome["error"]
        env.log("error", f"UDF failed: {detail}", None)
        raise _invalid("udf", f"the UDF failed: {outcome['error']}")
    return outcome.get("ok")


@process(
    "run_udf",
    categories=("cubes", "import", "udf"),
    exceptions={
        "InvalidRuntime": "The runtime is not supported.",
        "InvalidVersion": "The runtime version is not supported.",
        "FileNotFound": "The UDF file does not exist.",
    },
)
def run_udf(
    data: Annotated[Any, Param({})],
    udf: _UDF,
    runtime: Annotated[str, Param({"type": "string", "subtype": "udf-runtime"})],
    version: Annotated[
        Any, Param([{"type": "string", "subtype": "udf-runtime-version"}, {"type": "null"}])
    ] = None,
    context: Annotated[dict[str, Any], Param({})] = {},  # noqa: B006  (spec default, unchanged)
    *,
    env: EvalContext,
) -> Annotated[Any, Param({})]:
    """Run a Python user-defined function (UDF) on the data.

    The code uses the openEO UDF API: e.g. `apply_datacube(cube: XarrayDataCube, context)`
    returning an `XarrayDataCube`, or `apply_udf_data(data: UdfData)`. It runs in a separate
    process without network access, with limits on CPU time, memory and wall time; what it
    prints or logs appears in the log. The back-end may disable UDFs.

    Args:
        data: The data to process: a cube (or the array a callback received) or plain data.
        udf: The Python source code, or an http(s) URL to fetch it from.
        runtime: `Python`.
        version: The runtime version; null (or `3`) for the installed Python 3.
        context: Passed on to the UDF as its `context`.

    Returns:
        What the UDF returned: a cube of the same kind as `data`, or plain data.
    """
    if not env.limits.udf_enabled:
        raise PermissionsInsufficient(reason="user-defined functions (run_udf) are disabled here")
    if runtime.lower() not in RUNTIMES:
        raise _invalid("runtime", f"unknown UDF runtime '{runtime}'; use Python", "InvalidRuntime")
    if version is not None and not str(version).startswith(RUNTIMES[runtime.lower()]):
        raise _invalid("version", f"runtime version '{version}' is not available", "InvalidVersion")
    code = _source(udf, env)
    value, dim = _as_input(data)
    result = execute_udf(code, value, context, env)
    if isinstance(result, xr.DataArray) and isinstance(data, (xr.DataArray, LabeledArray)):
        source = data.data if isinstance(data, LabeledArray) else data
        result = result.assign_attrs({**source.attrs, **result.attrs})
        if dim is not None and dim in result.dims:
            return LabeledArray(result, dim, own_labels=dim in result.coords)
    return result

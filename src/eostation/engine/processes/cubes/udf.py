"""``run_udf``: Python user-defined functions, run in a sandboxed worker process.

The UDF source is run by the official ``openeo.udf`` API (``apply_datacube``,
``apply_timeseries``, ``apply_udf_data`` entry points, ``XarrayDataCube``, ``context``)
in a worker of the run (:mod:`.udf_pool`, reused across the run's chunks) that runs
:mod:`.udf_child` inside the sandbox of :mod:`.udf_sandbox` (namespaces, hidden files,
its own uid or no capabilities, rlimits; see ``docs/udf.md``). Data cross the process
boundary only as JSON and NumPy arrays (:mod:`.udf_protocol`), never as pickles.
Dependencies declared in a PEP 723 block are installed by :mod:`.udf_deps`. What the
UDF prints or logs is forwarded to ``EvalContext.log``, naming the node.

The data handed to the UDF are computed first (a UDF sees numbers, not a dask graph),
so UDFs belong on modest inputs, e.g. inside ``apply_neighborhood`` tiles.

Limits come from ``EvalContext.limits`` (:class:`~eostation.engine.limits.EngineLimits`):
``udf_enabled`` (off unless the settings allow it), ``udf_timeout_seconds``,
``udf_cpu_seconds``, ``udf_memory_mb``, ``udf_max_processes``, ``udf_hidden_paths``.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes import udf_blocks, udf_deps, udf_process, udf_protocol
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import PermissionsInsufficient, ProcessParameterInvalid

__all__ = ["RUNTIMES", "run_udf"]

RUNTIMES = {"python": ("3",)}
"""UDF runtimes and their versions."""

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
        import httpx  # here: only a UDF fetched by URL needs it

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


_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error"}


def _forward(env: EvalContext, text: str, level: str) -> None:
    """What the UDF printed (``info``) or wrote to stderr (``warning``), line by line.

    ``logging`` records arrive on stderr as ``LEVEL message`` (the child's log format)
    and keep their level (``CRITICAL`` counts as ``error``).
    """
    for line in text.splitlines():
        if not line.strip():
            continue
        head, _, rest = line.partition(" ")
        head = "ERROR" if head == "CRITICAL" else head
        if level == "warning" and head in _LEVELS and rest:
            env.log(_LEVELS[head], f"{_who(env)}: {rest}", None)
        else:
            env.log(level, f"{_who(env)}: {line}", None)


def _who(env: EvalContext) -> str:
    return f"UDF (node '{env.node_id}')" if env.node_id else "UDF"


def _refused(env: EvalContext, reason: str) -> NoReturn:
    env.log("error", f"{_who(env)} stopped: {reason}", None)
    raise _invalid("udf", reason)


def _environment(code: str, env: EvalContext) -> Path | None:
    """The UDF's own dependencies (PEP 723), installed once per set, or None."""
    dependencies = udf_deps.declared(code)
    if not dependencies:
        return None
    if env.limits.udf_env_dir is None:
        raise _invalid("udf", "this run cannot install UDF dependencies")
    env.log("info", f"{_who(env)}: dependencies {', '.join(dependencies)}", None)
    return udf_deps.environment(dependencies, Path(env.limits.udf_env_dir))


def execute_udf(code: str, data: Any, context: Any, env: EvalContext) -> Any:
    """Run ``code`` on ``data`` in a sandboxed worker of this run and return its result."""
    limits = env.limits
    launch: dict[str, Any] = {
        "cpu_seconds": limits.udf_cpu_seconds,
        "memory_bytes": limits.udf_memory_mb * 1024 * 1024,
        "file_bytes": limits.udf_memory_mb * 1024 * 1024,
        "max_processes": limits.udf_max_processes,
        "exchange_bytes": None if limits.udf_exchange_mb is None else limits.udf_exchange_mb << 20,
        "hidden": list(limits.udf_hidden_paths),
        # Required in every worker once the probe installed it: no silent downgrade.
        "seccomp": udf_process.seccomp_problem() is None,
    }
    site = _environment(code, env)
    if site is not None:
        launch["site"] = str(site)
    request = {"code": code, "data": data, "context": context if context is not None else {}}
    try:
        ended = env.udf_workers.call(launch, request, limits.udf_timeout_seconds)
    except udf_protocol.ProtocolError as exc:
        raise _invalid("data", f"this data cannot be handed to a UDF: {exc}") from None
    _forward(env, ended.stdout, "info")
    _forward(env, ended.stderr, "warning")
    if ended.sandbox_error is not None:
        env.log("error", f"{_who(env)} sandbox: {ended.sandbox_error}", None)
        raise PermissionsInsufficient(
            reason=f"the UDF sandbox could not be built: {ended.sandbox_error}"
        )
    if ended.exchange_full is not None:
        _refused(env, ended.exchange_full)
    if ended.timed_out:
        _refused(env, f"the UDF ran longer than {limits.udf_timeout_seconds:g} s and was stopped")
    try:
        if ended.out is None:
            raise udf_protocol.ProtocolError("the UDF process ended")
        # Mapped arrays stay valid once their files are removed.
        outcome = udf_protocol.read_message(ended.out, max_bytes=launch["memory_bytes"])
    except (udf_protocol.ProtocolError, ValueError, OSError) as exc:
        reason = "the UDF process ended without a valid result"
        if ended.signal in (signal.SIGXCPU, signal.SIGKILL):
            # SIGXCPU at the soft CPU limit, SIGKILL at the hard one a second later.
            reason += (
                f" (killed by signal {ended.signal}: the limit of "
                f"{limits.udf_cpu_seconds} CPU seconds, or out of memory)"
            )
        elif ended.signal:
            reason += f" (killed by signal {ended.signal})"
        _refused(env, f"{reason}: {exc}")
    finally:
        if ended.out is not None:
            shutil.rmtree(ended.out, ignore_errors=True)
    if not isinstance(outcome, dict):
        _refused(env, "the UDF process ended without a valid result")
    if "error" in outcome:
        detail = outcome.get("traceback") or outcome["error"]
        env.log("error", f"{_who(env)} failed: {detail}", None)
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
    problem = udf_process.sandbox_problem()  # checked once per process, on first use
    if problem is not None:
        raise PermissionsInsufficient(
            reason="user-defined functions (run_udf) are off: their sandbox cannot be built "
            f"on this server ({problem})"
        )
    if runtime.lower() not in RUNTIMES:
        raise _invalid("runtime", f"unknown UDF runtime '{runtime}'; use Python", "InvalidRuntime")
    if version is not None and not str(version).startswith(RUNTIMES[runtime.lower()]):
        raise _invalid("version", f"runtime version '{version}' is not available", "InvalidVersion")
    code = _source(udf, env)
    value, dim = _as_input(data)
    if dim is not None and isinstance(value, xr.DataArray):
        run = lambda part: execute_udf(code, part, context, env)  # noqa: E731
        result = udf_blocks.in_blocks(value, dim, env.limits.udf_memory_mb, run)
    else:
        result = execute_udf(code, value, context, env)
    if isinstance(result, xr.DataArray) and isinstance(data, (xr.DataArray, LabeledArray)):
        source = data.data if isinstance(data, LabeledArray) else data
        result = result.assign_attrs({**source.attrs, **result.attrs})
        if dim is not None and dim in result.dims:
            return LabeledArray(result, dim, own_labels=dim in result.coords)
    return result

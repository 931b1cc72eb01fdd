"""``run_udf``: Python user-defined functions, run in a separate, limited process.

The UDF source is run by the official ``openeo.udf`` API (``apply_datacube``,
``apply_timeseries``, ``apply_udf_data`` entry points, ``XarrayDataCube``, ``context``)
in a fresh interpreter (:mod:`.udf_child`): CPU time and address space are capped with
``setrlimit``, a wall-clock timeout kills it, sockets are disabled before the user code
runs (a Python-level guard, see :mod:`.udf_child`), and the environment holds nothing
of the server's. What the UDF prints or logs is forwarded to ``EvalContext.log``.

The data handed to the UDF are computed first (a UDF sees numbers, not a dask graph),
so UDFs belong on modest inputs, e.g. inside ``apply_neighborhood`` tiles.

Options (``EvalContext.options``): ``udf_enabled`` (default True), ``udf_timeout``
seconds (60), ``udf_cpu_seconds`` (timeout), ``udf_memory_mb`` (4096).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.labeled import LabeledArray
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


def _source(udf: str) -> str:
    if "\n" in udf or "\r" in udf:
        return udf
    if udf.startswith(("http://", "https://")):
        try:
            response = httpx.get(udf, timeout=20, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise _invalid("udf", f"the UDF could not be fetched from {udf}: {exc}") from exc
        return response.text
    raise _invalid("udf", f"UDF files ('{udf}') are not supported; send the code", "FileNotFound")


def _as_input(data: Any) -> tuple[Any, str | None]:
    """The value sent to the child (computed) and the labeled dimension to restore."""
    if isinstance(data, LabeledArray):
        return data.data.compute(), data.dim
    if isinstance(data, xr.DataArray):
        return data.compute(), None
    return data, None


def _forward(env: EvalContext, text: str, level: str) -> None:
    for line in text.splitlines():
        if line.strip():
            env.log(level, f"UDF: {line}", None)


def execute_udf(code: str, data: Any, context: Any, env: EvalContext) -> Any:
    """Run ``code`` on ``data`` in a limited child interpreter and return its result."""
    timeout = env.limits.udf_timeout_seconds
    request = {
        "code": code,
        "data": data,
        "context": context if context is not None else {},
        "cpu_seconds": env.limits.udf_cpu_seconds,
        "memory_bytes": env.limits.udf_memory_mb * 1024 * 1024,
    }
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "HOME": tempfile.gettempdir(),
    }
    with tempfile.TemporaryDirectory(prefix="eostation-udf-") as workdir:
        target = Path(workdir) / "result.pickle"
        child = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD), str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=environment,
        )
        try:
            out, err = child.communicate(pickle.dumps(request), timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            _forward(env, out.decode(errors="replace"), "info")
            _forward(env, err.decode(errors="replace"), "warning")
            raise _invalid(
                "udf", f"the UDF ran longer than {timeout:g} s and was stopped"
            ) from None
        _forward(env, out.decode(errors="replace"), "info")
        _forward(env, err.decode(errors="replace"), "warning")
        if not target.is_file():
            reason = "the UDF process ended without a result"
            if child.returncode and child.returncode < 0:
                reason += f" (killed by signal {-child.returncode}: CPU or memory limit)"
            raise _invalid("udf", reason)
        with target.open("rb") as f:
            outcome = pickle.load(f)
    if "error" in outcome:
        env.log("error", f"UDF failed: {outcome.get('traceback', outcome['error'])}", None)
        raise _invalid("udf", f"the UDF failed: {outcome['error']}")
    return outcome["ok"]


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
    code = _source(udf)
    value, dim = _as_input(data)
    result = execute_udf(code, value, context, env)
    if isinstance(result, xr.DataArray) and isinstance(data, (xr.DataArray, LabeledArray)):
        source = data.data if isinstance(data, LabeledArray) else data
        result = result.assign_attrs({**source.attrs, **result.attrs})
        if dim is not None and dim in result.dims:
            return LabeledArray(result, dim)
    return result

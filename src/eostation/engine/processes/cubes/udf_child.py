"""The child side of ``run_udf``: isolates itself, then runs one Python UDF.

Started as a script (``python -I udf_child.py WORKDIR``, never imported by the server)
as a reusable worker (:mod:`.udf_pool`)
in a new session with an empty environment; :mod:`.udf_protocol` describes the work
directory and the message format. Before any user code runs, it builds the sandbox of
:mod:`.udf_sandbox` (namespaces, hidden files, its own uid or no capabilities, rlimits;
when that fails the UDF does not run) and replaces ``socket`` at the Python level (a
second guard besides the empty network namespace).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import select
import socket
import sys
import traceback
from pathlib import Path
from typing import Any


class _NoNetwork(OSError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _NoNetwork("network access is disabled inside UDFs")


class _BlockedSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


def _block_network() -> None:
    import _socket

    socket.socket = _BlockedSocket  # type: ignore[misc]
    _socket.socket = _BlockedSocket  # type: ignore[misc]
    for name in ("create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo"):
        if hasattr(socket, name):
            setattr(socket, name, _refuse)
    if hasattr(_socket, "getaddrinfo"):
        _socket.getaddrinfo = _refuse


def _run(request: dict[str, Any]) -> Any:
    import xarray as xr
    from openeo.udf.run_code import run_udf_code
    from openeo.udf.structured_data import StructuredData
    from openeo.udf.udf_data import UdfData
    from openeo.udf.xarraydatacube import XarrayDataCube

    data = request["data"]
    context = request.get("context") or {}
    if isinstance(data, xr.DataArray):
        udf_data = UdfData(datacube_list=[XarrayDataCube(data)], user_context=context)
    else:
        udf_data = UdfData(structured_data_list=[StructuredData(data)], user_context=context)
    _block_network()
    result = run_udf_code(code=request["code"], data=udf_data)
    cubes = result.get_datacube_list() or []
    if cubes:
        return _text_labels(cubes[0].get_array())
    structured = result.get_structured_data_list() or []
    if structured:
        return structured[0].data
    return None


def _text_labels(cube: Any) -> Any:
    """Labels a UDF set as Python strings (``expand_dims(bands=["ndvi"])``) as a text array.

    The protocol refuses object arrays; this script cannot import the server's helper.
    """
    text = {
        name: (coord.dims, coord.values.astype(str))
        for name, coord in cube.coords.items()
        if coord.dtype.hasobject and all(isinstance(v, str) for v in coord.values.ravel())
    }
    return cube.assign_coords(text)


def _load(name: str) -> Any:
    """A sibling module loaded by file path (the child runs with ``-I``, not as a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _call(protocol: Any, call: Path) -> None:
    """One UDF call (in a fork of the worker): read ``call/in``, write ``call/out``."""
    try:
        outcome: dict[str, Any] = {"ok": _run(protocol.read_message(call / "in"))}
        protocol.write_message(call / "out", outcome)
        return
    except MemoryError:
        outcome = {"error": "the UDF ran out of memory (limit reached)"}
    except BaseException as exc:
        lines = traceback.format_exception(exc)
        outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": "".join(lines[-6:])}
    sys.stdout.flush()
    sys.stderr.flush()
    protocol.write_message(call / "out", outcome)


def _serve(protocol: Any, sandbox: Any, launch: dict[str, Any], workdir: Path) -> None:
    """Serve calls until the server closes the control pipe or none comes for a while.

    The server writes a call's name to stdin; each call runs in a fresh fork (its own
    CPU-time limit, nothing left from the previous call: every other process in the
    sandbox is killed after it) and its exit status is reported on ``results_fd``.
    """
    results = os.fdopen(int(launch["results_fd"]), "w")
    idle = float(launch.get("idle_seconds", 30))
    while select.select([sys.stdin], [], [], idle)[0]:
        name = sys.stdin.readline().strip()
        if not name:
            return
        call = workdir / "calls" / Path(name).name
        try:
            pid = os.fork()
        except OSError as exc:  # e.g. the process limit, reached by a call's leftovers
            error = f"the UDF process could not start: {exc}"
            protocol.write_message(call / "out", {"error": error})
            results.write(f"{name} 0\n")
            results.flush()
            continue
        if pid == 0:
            try:
                sandbox.limit_call(launch)
                _call(protocol, call)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        sandbox.kill_others()
        results.write(f"{name} {os.waitstatus_to_exitcode(status)}\n")
        results.flush()


def main() -> None:
    """Build the sandbox, then serve UDF calls (``WORKDIR/calls/<name>/in`` -> ``out``)."""
    workdir = Path(sys.argv[1])
    launch = json.loads((workdir / "launch.json").read_text())
    # Everything the UDF API needs is imported while the interpreter's files are visible.
    protocol = _load("udf_protocol")
    sandbox = _load("udf_sandbox")
    import openeo.udf.run_code  # noqa: F401

    if launch.get("site"):  # the UDF's own dependencies, behind the server's environment
        sys.path.append(str(launch["site"]))
    _warm_up(protocol, workdir)
    try:
        sandbox.enter(launch, workdir)  # returns in the sandboxed process only
    except sandbox.SandboxError as exc:
        (workdir / "sandbox-error").write_text(str(exc))
        raise SystemExit(3) from None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    _serve(protocol, sandbox, launch, workdir)


_IDENTITY = (
    "from openeo.udf import XarrayDataCube\n\n"
    "def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:\n"
    "    return cube\n"
)


def _warm_up(protocol: Any, workdir: Path) -> None:
    """One identity call of our own in the worker, before the sandbox and its memory
    limit: what xarray and the UDF API load lazily on first use (dask, for seconds) is
    then inherited by every call's fork instead of being loaded in each."""
    import numpy as np
    import xarray as xr

    cube = xr.DataArray(np.zeros((1, 2, 2), "f4"), dims=("t", "y", "x"), coords={"y": [0, 1]})
    try:
        protocol.write_message(workdir / "warm", {"code": _IDENTITY, "data": cube, "context": {}})
        protocol.write_message(
            workdir / "warm-out", {"ok": _run(protocol.read_message(workdir / "warm"))}
        )
        protocol.read_message(workdir / "warm-out")
    except Exception:  # only a warm-up: the calls report their own errors
        pass


if __name__ == "__main__":
    main()

"""The child side of ``run_udf``: runs one Python UDF in a fresh interpreter.

Started as a script (``python -I udf_child.py RESULT_PATH``, never imported by the
engine) so that nothing of the server lives in the child. It reads a pickled request
``{"code", "data", "context", "cpu_seconds", "memory_bytes"}`` from stdin, applies the
limits, disables sockets, runs the code with the ``openeo.udf`` API and pickles
``{"ok": value}`` or ``{"error": text}`` to ``RESULT_PATH``. Whatever the UDF prints or
logs goes to stdout/stderr, which the parent forwards to the job log.

Network isolation here is a *Python-level* guard: ``socket.socket`` and friends are
replaced before the UDF runs, which stops ``requests``, ``urllib``, ``httpx`` and plain
``socket`` use. Native code (``ctypes``, C extensions) could still call the OS; a hard
guarantee needs the worker to run without a network (container or network namespace).
"""

from __future__ import annotations

import logging
import pickle
import resource
import socket
import sys
import traceback
from typing import Any


class _NoNetwork(OSError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _NoNetwork("network access is disabled inside UDFs")


class _BlockedSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    if cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


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
    from openeo.udf.udf_data import UdfData
    from openeo.udf.xarraydatacube import XarrayDataCube

    data = request["data"]
    context = request.get("context") or {}
    _block_network()
    if isinstance(data, xr.DataArray):
        udf_data = UdfData(datacube_list=[XarrayDataCube(data)], user_context=context)
    else:
        from openeo.udf.structured_data import StructuredData

        udf_data = UdfData(structured_data_list=[StructuredData(data)], user_context=context)
    result = run_udf_code(code=request["code"], data=udf_data)
    cubes = result.get_datacube_list() or []
    if cubes:
        return cubes[0].get_array()
    structured = result.get_structured_data_list() or []
    if structured:
        return structured[0].data
    return None


def main() -> None:
    """Run the request on stdin; write the pickled outcome to ``sys.argv[1]``."""
    target = sys.argv[1]
    request = pickle.load(sys.stdin.buffer)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    _limit(int(request.get("cpu_seconds", 0)), int(request.get("memory_bytes", 0)))
    try:
        outcome: dict[str, Any] = {"ok": _run(request)}
    except MemoryError:
        outcome = {"error": "the UDF ran out of memory (limit reached)"}
    except BaseException as exc:
        lines = traceback.format_exception(exc)
        outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": "".join(lines[-6:])}
    sys.stdout.flush()
    sys.stderr.flush()
    with open(target, "wb") as f:
        pickle.dump(outcome, f)


if __name__ == "__main__":
    main()

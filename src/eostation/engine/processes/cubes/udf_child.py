"""The child side of ``run_udf``: isolates itself, then runs one Python UDF.

Started as a script (``python -I udf_child.py WORKDIR``, never imported by the server)
in a new session with an empty environment; :mod:`.udf_protocol` describes the work
directory and the message format. Before any user code runs, it:

1. started as root (the server runs as root): enters new mount and network namespaces,
   hides the ``hidden`` paths (the server's data directory and database) under empty
   read-only tmpfs mounts, hides home directories that are not readable by others
   (keeping only what the interpreter needs), then drops to the run's own unprivileged
   uid/gid with no supplementary groups and ``no_new_privs``. Without root it tries the
   same in a user namespace and reports what it could not do;
2. sets rlimits: CPU seconds, address space, processes of its uid, file size, no core;
3. replaces ``socket`` at the Python level (a second guard besides the network
   namespace, which is only there as root).

The server kills every process of the run's uid (and the session) when the run ends,
so nothing a UDF starts outlives it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import os
import resource
import socket
import stat
import sys
import traceback
from pathlib import Path
from typing import Any

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 4096, 8192, 16384, 1 << 18
_PR_SET_NO_NEW_PRIVS = 38


class _NoNetwork(OSError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _NoNetwork("network access is disabled inside UDFs")


class _BlockedSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc: Any, source: str, target: str, fstype: str | None, flags: int, data: str) -> None:
    _call(
        libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _closed_ancestor(path: Path) -> tuple[Path, Path] | None:
    """The top-most directory above ``path`` that others cannot enter, and its child on the way."""
    parts = path.resolve().parts
    for i in range(2, len(parts)):
        ancestor = Path(*parts[:i])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor, Path(*parts[: i + 1])
    return None


def _reopen_interpreter(libc: Any, workdir: Path) -> None:
    """Hide closed directories (e.g. ``/root``) but keep the interpreter's files in them.

    The uid the UDF runs as could not enter them; a tmpfs over the closed directory
    holds just the bind mounts of the interpreter's paths.
    """
    needed = {Path(p) for p in sys.path if p and Path(p).exists()}
    needed |= {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent}
    keep: dict[Path, set[Path]] = {}
    for path in needed:
        found = _closed_ancestor(path)
        if found:
            keep.setdefault(found[0], set()).add(found[1])
    for n, (closed, children) in enumerate(sorted(keep.items())):
        staged = []
        for m, child in enumerate(sorted(children)):
            stage = workdir / f".stage-{n}-{m}"
            stage.mkdir()
            _mount(libc, str(child), str(stage), None, _MS_BIND | _MS_REC, "")
            staged.append((stage, child))
        _mount(libc, "tmpfs", str(closed), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0755")
        for stage, child in staged:
            (closed / child.name).mkdir()
            _mount(libc, str(stage), str(closed / child.name), None, _MS_MOVE, "")
            stage.rmdir()


def _hide(libc: Any, paths: list[str]) -> None:
    for path in paths:
        target = Path(path)
        if target.is_dir():
            flags = _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
            _mount(libc, "tmpfs", path, "tmpfs", flags, "size=4k,mode=0555")
        elif target.exists():
            _mount(libc, "/dev/null", path, None, _MS_BIND, "")


def _isolate(launch: dict[str, Any], workdir: Path) -> list[str]:
    """Namespaces, hidden paths and the uid drop; returns what could not be done."""
    notes: list[str] = []
    libc = _libc()
    uid = launch.get("uid")
    hidden = [str(p) for p in launch.get("hidden", [])]
    try:
        if uid is not None:
            _call(libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET), "unshare")
        else:
            real_uid, real_gid = os.getuid(), os.getgid()
            _call(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWNET), "unshare")
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{real_uid} {real_uid} 1")
            Path("/proc/self/gid_map").write_text(f"{real_gid} {real_gid} 1")
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE, "")
        if uid is not None:
            _reopen_interpreter(libc, workdir)
        _hide(libc, hidden)
    except (OSError, AttributeError) as exc:  # AttributeError: a libc without unshare/mount
        notes.append(f"the server's files are not hidden from UDFs ({exc})")
    if uid is not None:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    else:
        notes.append("UDFs run as the server's user (start the server as root to separate them)")
    try:
        _call(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    except (OSError, AttributeError) as exc:
        notes.append(f"set-uid programs are not disabled ({exc})")
    return notes


def _limit(launch: dict[str, Any]) -> None:
    pairs = {
        resource.RLIMIT_CPU: int(launch.get("cpu_seconds", 0)),
        resource.RLIMIT_AS: int(launch.get("memory_bytes", 0)),
        resource.RLIMIT_FSIZE: int(launch.get("file_bytes", 0)),
    }
    if launch.get("uid") is not None:  # counted per uid: only meaningful for the run's own uid
        pairs[resource.RLIMIT_NPROC] = int(launch.get("max_processes", 0))
    for which, value in pairs.items():
        if value > 0:
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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


def _protocol() -> Any:
    spec = importlib.util.spec_from_file_location(
        "udf_protocol", Path(__file__).with_name("udf_protocol.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Isolate, read ``WORKDIR/in``, run the UDF and write ``WORKDIR/out``."""
    workdir = Path(sys.argv[1])
    launch = json.loads((workdir / "launch.json").read_text())
    # Everything the UDF API needs is imported while the interpreter's files are visible.
    protocol = _protocol()
    import openeo.udf.run_code  # noqa: F401

    notes = _isolate(launch, workdir)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    _limit(launch)
    try:
        outcome: dict[str, Any] = {"ok": _run(protocol.read_message(workdir / "in"))}
        protocol.write_message(workdir / "out", {**outcome, "isolation": notes})
        return
    except MemoryError:
        outcome = {"error": "the UDF ran out of memory (limit reached)"}
    except BaseException as exc:
        lines = traceback.format_exception(exc)
        outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": "".join(lines[-6:])}
    sys.stdout.flush()
    sys.stderr.flush()
    protocol.write_message(workdir / "out", {**outcome, "isolation": notes})


if __name__ == "__main__":
    main()

"""The ``run_udf`` child protocol: how the server and a UDF process exchange data.

Nothing that crosses the process boundary can carry code: a message is one JSON
document plus NumPy ``.npy`` files (a text header and the raw buffer) written with
``allow_pickle=False``; object arrays are refused on both sides. The server never
unpickles what a UDF process produced, so a UDF that overwrites its own output cannot
run code in the server.

Each array is written once (on a tmpfs, ``/dev/shm``, where there is room: see
:mod:`.udf_pool`) and read without a copy: the reader maps the file privately
(``MAP_PRIVATE``, copy-on-write: the reader may change its array, the file never
changes) and views it with ``np.frombuffer``. The header must describe the file exactly
(no short or trailing bytes) and the arrays of one message may not exceed ``max_bytes``.
A mapped file that shrinks would crash its reader (``SIGBUS``), so the server maps only
files no sandboxed process can reach any more (:meth:`.udf_pool.UdfWorker.call` moves
them out of the worker's directory after every process of the call has ended) and that
have no other link (``st_nlink == 1``).

A worker (:mod:`.udf_pool`) uses one work directory, owned by the UDF's user and created
by the server:

``launch.json``
    written by the server: ``{"cpu_seconds", "memory_bytes", "max_processes",
    "file_bytes", "uid", "hidden": [paths], "site", "results_fd", "idle_seconds"}``
    (``uid`` null when the server is not root; ``site`` the UDF's dependencies, if any).
``calls/<n>/in/``
    written by the server for call ``n``: ``{"code", "data", "context"}``; the server
    then writes ``n`` to the worker's stdin.
``calls/<n>/out/``
    written by the call: ``{"ok": value}`` or ``{"error": text, "traceback": text}``;
    the worker then writes ``n <exit code>`` to the ``results_fd`` pipe.
``stdout``, ``stderr``
    what the UDFs printed or logged; the server forwards each call's part to the log.
``sandbox-error``
    written when the sandbox could not be built (the worker then exits).

Values in a message are JSON values, plus ``{"$array": n}`` (``n.npy`` in the same
folder) and ``{"$cube": {"dims", "name", "values", "coords", "attrs"}}`` for an
``xarray.DataArray`` (its coordinates and values as arrays; attributes that are not
JSON values are dropped). This module is imported by the server and loaded by file path
in the child (``python -I``), so it depends on NumPy and xarray only.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import stat
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

__all__ = ["MESSAGE", "ProtocolError", "read_message", "write_message"]

MESSAGE = "message.json"
_MAX_JSON_BYTES = 64 * 1024 * 1024
_MAX_ARRAYS = 10_000  # each mapping is a kernel VMA; a process has about 65,000
_MAP_FROM = 64 * 1024  # smaller arrays (labels, coordinates) are read: a mapping costs more


class ProtocolError(ValueError):
    """A message that does not follow the protocol (wrong type, link, shape, ...)."""


def write_message(directory: Path, value: Any, max_bytes: int | None = None) -> None:
    """Write ``value`` into ``directory`` (created) as ``message.json`` plus ``.npy`` files;
    :class:`ProtocolError`, before anything is written, when its arrays hold more than
    ``max_bytes``."""
    directory.mkdir(exist_ok=True)
    arrays: list[np.ndarray[Any, Any]] = []

    def array(values: Any) -> dict[str, int]:
        data = np.asarray(values)
        if data.dtype.hasobject:
            raise ProtocolError(f"arrays of Python objects cannot be exchanged ({data.dtype})")
        arrays.append(data)
        return {"$array": len(arrays) - 1}

    def encode(item: Any, strict: bool = True) -> Any:
        if isinstance(item, xr.DataArray):
            return {
                "$cube": {
                    "dims": [str(d) for d in item.dims],
                    "name": item.name if isinstance(item.name, str) else None,
                    "values": array(item.values),
                    "coords": {
                        str(k): {"dims": [str(d) for d in c.dims], "values": array(c.values)}
                        for k, c in item.coords.items()
                    },
                    "attrs": _json_only(item.attrs),
                }
            }
        if isinstance(item, np.ndarray):
            return array(item)
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, dict):
            return {str(k): encode(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [encode(v) for v in item]
        if item is None or isinstance(item, (bool, int, float, str)):
            return item
        raise ProtocolError(f"a value of type {type(item).__name__} cannot be exchanged")

    document = json.dumps(encode(value))
    total = sum(data.nbytes for data in arrays)
    if max_bytes is not None and total > max_bytes:
        raise ProtocolError(
            f"the arrays hold {total / 2**20:.1f} MiB, more than the limit of "
            f"{max_bytes / 2**20:.1f} MiB"
        )
    for i, data in enumerate(arrays):
        np.save(directory / f"{i}.npy", data, allow_pickle=False)
    (directory / MESSAGE).write_text(document, encoding="utf-8")


def read_message(directory: Path, max_bytes: int | None = None) -> Any:
    """The value in ``directory``; :class:`ProtocolError` when it is not a valid message.

    Files are opened without following symbolic links and must be regular files with a
    single link, so a UDF cannot point the server at a file it could not read itself.
    Arrays are mapped, not copied (see the module docs); together they may hold at most
    ``max_bytes``.
    """
    document = json.loads(_read(directory / MESSAGE, _MAX_JSON_BYTES))
    total = count = 0

    def array(link: Any) -> np.ndarray[Any, Any]:
        nonlocal total, count
        ref = link.get("$array") if isinstance(link, dict) else None
        if not isinstance(ref, int) or isinstance(ref, bool) or ref < 0:
            raise ProtocolError(f"invalid array reference {ref!r}")
        count += 1
        if count > _MAX_ARRAYS:
            raise ProtocolError(f"a message may hold at most {_MAX_ARRAYS} arrays")
        fd = _open(directory / f"{ref}.npy")
        try:
            loaded = _map(fd, ref)
        finally:
            os.close(fd)
        total += loaded.nbytes
        if max_bytes is not None and total > max_bytes:
            raise ProtocolError(f"the arrays hold more than the limit of {max_bytes // 2**20} MiB")
        return loaded

    def decode(item: Any) -> Any:
        if isinstance(item, dict):
            if set(item) == {"$array"}:
                return array(item)
            if set(item) == {"$cube"}:
                return _cube(item["$cube"], array)
            return {k: decode(v) for k, v in item.items()}
        if isinstance(item, list):
            return [decode(v) for v in item]
        return item

    return decode(document)


def _cube(spec: Any, array: Any) -> xr.DataArray:
    if not isinstance(spec, dict) or not isinstance(spec.get("dims"), list):
        raise ProtocolError("a cube needs 'dims'")
    coords = {}
    for name, coord in dict(spec.get("coords") or {}).items():
        if not isinstance(coord, dict) or not isinstance(coord.get("dims"), list):
            raise ProtocolError(f"coordinate '{name}' needs 'dims'")
        coords[str(name)] = ([str(d) for d in coord["dims"]], array(coord["values"]))
    attrs = spec.get("attrs") if isinstance(spec.get("attrs"), dict) else {}
    name = spec.get("name") if isinstance(spec.get("name"), str) else None
    try:
        return xr.DataArray(
            array(spec["values"]),
            dims=[str(d) for d in spec["dims"]],
            coords=coords,
            attrs=attrs,
            name=name,
        )
    except (ValueError, KeyError) as exc:
        raise ProtocolError(f"inconsistent cube: {exc}") from None


def _json_only(attrs: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, np.generic):
            value = value.item()
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        out[str(key)] = value
    return out


def _map(fd: int, ref: int) -> np.ndarray[Any, Any]:
    """The ``.npy`` array in ``fd`` as a private (copy-on-write) mapping of the file."""
    size = os.fstat(fd).st_size
    with os.fdopen(os.dup(fd), "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"format version {version} is not accepted")
        except ValueError as exc:
            raise ProtocolError(f"array {ref} is not a plain .npy array: {exc}") from None
        offset = f.tell()
    if dtype.hasobject:
        raise ProtocolError(f"array {ref} holds Python objects ({dtype})")
    count = math.prod(int(n) for n in shape)
    if size != offset + count * dtype.itemsize:
        raise ProtocolError(
            f"array {ref}: its header announces {count} values of {dtype}, "
            f"the file holds {size - offset} bytes"
        )
    order: Literal["C", "F"] = "F" if fortran else "C"
    if count == 0:
        return np.empty(shape, dtype, order=order)
    if size - offset < _MAP_FROM:
        data = bytearray(os.pread(fd, size - offset, offset))
        return np.frombuffer(data, dtype, count=count).reshape(shape, order=order)
    mapped = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    values = np.frombuffer(mapped, dtype, count=count, offset=offset)
    return values.reshape(shape, order=order)


def _open(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ProtocolError(f"{path.name} cannot be opened: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ProtocolError(f"{path.name} is not a regular file")
    if info.st_nlink != 1:
        os.close(fd)
        raise ProtocolError(f"{path.name} has other links")
    return fd


def _read(path: Path, limit: int) -> str:
    with os.fdopen(_open(path), "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ProtocolError(f"{path.name} is larger than {limit} bytes")
    return data.decode("utf-8")

"""The ``run_udf`` child protocol: how the server and a UDF process exchange data.

Nothing that crosses the process boundary can carry code: a message is one JSON
document plus NumPy ``.npy`` files written with ``allow_pickle=False`` and read back the
same way (object arrays are refused on both sides). The server never unpickles what a
UDF process produced, so a UDF that overwrites its own output cannot run code in the
server.

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
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["MESSAGE", "ProtocolError", "read_message", "write_message"]

MESSAGE = "message.json"
_MAX_JSON_BYTES = 64 * 1024 * 1024


class ProtocolError(ValueError):
    """A message that does not follow the protocol (wrong type, link, shape, ...)."""


def write_message(directory: Path, value: Any) -> None:
    """Write ``value`` into ``directory`` (created) as ``message.json`` plus ``.npy`` files."""
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
    for i, data in enumerate(arrays):
        np.save(directory / f"{i}.npy", data, allow_pickle=False)
    (directory / MESSAGE).write_text(document, encoding="utf-8")


def read_message(directory: Path) -> Any:
    """The value in ``directory``; :class:`ProtocolError` when it is not a valid message.

    Files are opened without following symbolic links and must be regular files, so a
    UDF cannot point the server at a file it could not read itself.
    """
    document = json.loads(_read(directory / MESSAGE, _MAX_JSON_BYTES))

    def array(link: Any) -> np.ndarray[Any, Any]:
        ref = link.get("$array") if isinstance(link, dict) else None
        if not isinstance(ref, int) or isinstance(ref, bool) or ref < 0:
            raise ProtocolError(f"invalid array reference {ref!r}")
        fd = _open(directory / f"{ref}.npy")
        with os.fdopen(fd, "rb") as f:
            try:
                loaded = np.load(f, allow_pickle=False)
            except ValueError as exc:
                raise ProtocolError(f"array {ref} is not a plain .npy array: {exc}") from None
        if not isinstance(loaded, np.ndarray):
            raise ProtocolError(f"array {ref} is not a .npy array")
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


def _open(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ProtocolError(f"{path.name} cannot be opened: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProtocolError(f"{path.name} is not a regular file")
    return fd


def _read(path: Path, limit: int) -> str:
    with os.fdopen(_open(path), "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ProtocolError(f"{path.name} is larger than {limit} bytes")
    return data.decode("utf-8")

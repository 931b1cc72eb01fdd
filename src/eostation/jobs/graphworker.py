"""One graph worker process: estimates and validations of process graphs, off the API
process (see :mod:`eostation.jobs.graphpool`, which starts and feeds it).

The worker rebuilds everything it needs from the server's ``Settings`` (sent as JSON):
the process, collection and format registries and the engine limits, with the same
factories the API uses; evaluation contexts come from
:func:`eostation.jobs.execute.evaluate_lazily`, as on every other path. Messages on its
pipe are JSON documents, never pickles, in both directions:

- pool → worker: ``{"task": "estimate" | "validate", "user_id", "settings"}``
  (``user_id`` null: anonymous, only predefined processes are known; ``settings``: the
  server's as JSON, the worker rebuilds its tools when they changed), a newline, and the
  JSON document the task is about (a job's ``process``, the graph of
  ``POST /validation``), parsed only here;
- worker → pool: ``{"udp": id}`` when the graph calls a process the registry does not
  know (answered ``{"definition": {...} | null}`` from the user's stored processes), then
  ``{"value": ...}``, ``{"error": {"code", "status", "message", "retry_after"}}`` for
  an openEO error, or ``{"failure": traceback}`` for a bug.
"""

from __future__ import annotations

import json
import os
import signal
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from eostation.config import Settings
from eostation.data.registry import CollectionRegistry, build_registry
from eostation.engine.graph import references
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry, default_registry
from eostation.engine.validation import validate
from eostation.errors import OpenEOError
from eostation.formats.registry import FormatRegistry, default_formats
from eostation.jobs.estimate import estimate_process
from eostation.outbound import OutboundPolicy

__all__ = ["parameter_references", "serve"]

UdpLookup = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class _Tools:
    """What every task of this worker uses, built once from the settings."""

    settings: Settings
    registry: ProcessRegistry
    collections: CollectionRegistry
    formats: FormatRegistry
    limits: EngineLimits

    @classmethod
    def build(cls, settings: Settings) -> _Tools:
        return cls(
            settings=settings,
            registry=default_registry(),
            collections=build_registry(
                settings.data_dir, OutboundPolicy.from_settings(settings), settings.storage.options
            ),
            formats=default_formats(),
            limits=EngineLimits.from_settings(settings),
        )


def parameter_references(value: Any) -> set[str]:
    """Every ``from_parameter`` name anywhere in a graph, callbacks included."""
    found = set(references(value, "from_parameter"))
    if isinstance(value, Mapping):
        for item in value.values():
            found |= parameter_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= parameter_references(item)
    return found


def serve(conn: Connection, settings_json: str) -> None:
    """The worker's main loop: answer tasks until the pipe closes (the pool went away)."""
    # Ctrl-C in a terminal reaches the whole process group: the pool stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tools = _Tools.build(Settings.model_validate_json(settings_json))
    conn.send_bytes(json.dumps({"ready": os.getpid()}).encode())
    while True:
        try:
            header, _, document = conn.recv_bytes().partition(b"\n")
        except EOFError:
            return
        task = json.loads(header)
        if document:
            task["document"] = json.loads(document)
        if task.get("settings", settings_json) != settings_json:
            settings_json = task["settings"]
            tools = _Tools.build(Settings.model_validate_json(settings_json))
        conn.send_bytes(json.dumps(_answer(task, tools, conn)).encode())


def _answer(task: dict[str, Any], tools: _Tools, conn: Connection) -> dict[str, Any]:
    user_id = task.get("user_id")
    udp = None if user_id is None else _asking(conn)
    try:
        if task["task"] == "estimate":
            value: Any = estimate_process(
                task["document"],
                user_id=str(user_id),
                registry=tools.registry,
                limits=tools.limits,
                collections=tools.collections,
                formats=tools.formats,
                timeout_seconds=tools.settings.sync_timeout_seconds,
                udp=udp,
            )
        else:
            nodes = task["document"]
            problems = validate(
                nodes,
                tools.registry,
                # Parameters that cannot be resolved here must not be reported (API rule).
                parameters=parameter_references(nodes),
                udp=udp,
                limits=tools.limits,
            )
            value = [p.to_dict() for p in problems]
    except OpenEOError as err:
        return {
            "error": {
                "code": err.code,
                "status": err.status,
                "message": err.message,
                "retry_after": err.retry_after,
            }
        }
    except Exception:  # a bug: the pool raises it in the API process, which logs it
        return {"failure": traceback.format_exc()}
    return {"value": value}


def _asking(conn: Connection) -> UdpLookup:
    """A stored-process lookup that asks the pool, which reads the user's store; once per
    process id and task (the engine asks for every id it meets, predefined ones too)."""
    known: dict[str, dict[str, Any] | None] = {}

    def udp(process_id: str) -> dict[str, Any] | None:
        if process_id not in known:
            conn.send_bytes(json.dumps({"udp": process_id}).encode())
            known[process_id] = json.loads(conn.recv_bytes())["definition"]
        return known[process_id]

    return udp

"""Every predefined process's metadata without importing its implementation.

``process_index.json`` (package data next to this module) maps each process id to the
module that implements it and to its ``GET /processes`` entry. It is derived from the
typed functions, never written by hand: :func:`eostation.engine.registry.build_index`
imports every process module and asks each definition for its metadata, and
``scripts/process_index.py`` writes the file (``tests/unit/engine/test_process_index.py``
fails when it is stale).

Why it exists: importing all process modules costs about half a second (pyproj, shapely,
odc-geo's xarray accessor, scikit-learn helpers, the UDF machinery), which
``eostation run`` paid for a graph that uses three processes. With the index the
registry lists, describes and validates every process, and imports a module only when a
graph asks for one of its processes (:meth:`ProcessRegistry.get`).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["INDEX_NAME", "import_all", "index_entries", "render_index"]

INDEX_NAME = "process_index.json"
"""The index's file name inside the ``eostation.engine`` package."""


def import_all() -> None:
    """Import every module under ``eostation.engine.processes`` (registering its processes)."""
    # Imported here: the registry imports this module, and every process module the registry.
    import eostation.engine.processes as package

    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)


def render_index(index: dict[str, dict[str, Any]]) -> str:
    """The file's text: keys in the order ``/processes`` shows them, one per line for diffs."""
    return json.dumps(index, indent=1, ensure_ascii=False) + "\n"


@cache
def _stored() -> dict[str, dict[str, Any]]:
    # Immutable package data, read once per process and shared by every registry.
    text = resources.files("eostation.engine").joinpath(INDEX_NAME).read_text("utf-8")
    table: dict[str, dict[str, Any]] = json.loads(text)
    return table


def index_entries() -> dict[str, dict[str, Any]]:
    """``{id: {"module": …, "process": …}}`` of every indexed process (shared: do not modify)."""
    return _stored()

"""The arrows of ARCHITECTURE.md, checked on the import statements of every module.

Static analysis (``ast``) of ``src/eostation``: module-level and function-level imports
count alike (a function-level import is still an arrow; it only runs later), imports
under ``if TYPE_CHECKING:`` do not (they never run). Relative imports are resolved.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# part -> module prefixes it must never import (ARCHITECTURE.md, "Parts and arrows").
_WEB = ("fastapi", "starlette", "uvicorn")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Not the formats either: save_result checks options through EvalContext.output_format,
    # the registry whose writers the jobs layer runs.
    "eostation.engine": (
        "eostation.api",
        "eostation.jobs",
        "eostation.formats",
        "eostation.cli",
        "sqlalchemy",
        *_WEB,
    ),
    "eostation.jobs": ("eostation.api", "eostation.cli", *_WEB),
    "eostation.data": (
        "eostation.api",
        "eostation.engine",
        "eostation.jobs",
        "eostation.cli",
        "sqlalchemy",
        *_WEB,
    ),
    "eostation.formats": (
        "eostation.api",
        "eostation.engine",
        "eostation.jobs",
        "eostation.cli",
        "sqlalchemy",
        *_WEB,
    ),
    "eostation.archive": ("eostation.api", "eostation.engine", "eostation.jobs", *_WEB),
    "eostation.errors": ("eostation", *_WEB),
    # Tiles and quicklooks for the dashboard: rendering and the job/sync services, no HTTP.
    "eostation.tiles": ("eostation.api", "eostation.cli", "sqlalchemy", *_WEB),
}
# Nothing imports the API but the CLI (and the API itself).
API_IMPORTERS = ("eostation.api", "eostation.cli")


@dataclass(frozen=True)
class Import:
    """One imported name: who imports what, where, and whether inside a function."""

    importer: str
    target: str
    line: int
    in_function: bool


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    """Every import in ``source`` (the text of ``module``), resolved to a module name.

    ``from a import b`` names ``a.b`` when that is a module in ``known``, else ``a``.
    """
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    in_function = {
        id(n)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for n in ast.walk(fn)
    }
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        local = id(node) in in_function
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, local)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield Import(module, full if full in known else base, node.lineno, local)


def all_imports(src: Path = SRC) -> list[Import]:
    """The imports of every module under ``src/eostation``."""
    paths = sorted((src / "eostation").rglob("*.py"))
    known = {_module_name(p, src) for p in paths}
    return [
        imp
        for p in paths
        for imp in imports_of(
            p.read_text(encoding="utf-8"), _module_name(p, src), p.name == "__init__.py", known
        )
    ]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(imports: list[Import]) -> list[str]:
    """Every import that goes against an arrow, as ``importer:line -> target (rule)``."""
    out = []
    for imp in imports:
        where = f"{imp.importer}:{imp.line}{' (in a function)' if imp.in_function else ''}"
        for part, banned in FORBIDDEN.items():
            if _within(imp.importer, part):
                out += [
                    f"{where} -> {imp.target} ({part} must not import {b})"
                    for b in banned
                    if _within(imp.target, b) and not _within(imp.target, part)
                ]
        if _within(imp.target, "eostation.api") and not any(
            _within(imp.importer, p) for p in API_IMPORTERS
        ):
            out.append(f"{where} -> {imp.target} (only eostation.cli imports eostation.api)")
    return out


def cycles(imports: list[Import]) -> list[list[str]]:
    """Groups of eostation modules that import each other (strongly connected, size > 1)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set())
        if _within(imp.target, "eostation") and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@functools.cache
def _package_imports() -> tuple[Import, ...]:
    return tuple(all_imports())


@pytest.mark.slow
def test_the_package_follows_the_arrows() -> None:
    imports = list(_package_imports())
    assert len({i.importer for i in imports}) > 100  # the walk found the package
    assert violations(imports) == []


def test_no_import_cycles_between_modules() -> None:
    assert cycles(list(_package_imports())) == []


def _check(tmp_path: Path, files: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    for name, text in files.items():
        path = tmp_path / "eostation" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    imports = all_imports(tmp_path)
    return violations(imports), cycles(imports)


def test_the_checker_catches_a_wrong_arrow_even_inside_a_function(tmp_path: Path) -> None:
    found, loops = _check(
        tmp_path,
        {
            "__init__.py": "",
            "engine/__init__.py": "",
            "engine/evaluate.py": "def f():\n    from ..jobs import store\n",
            "engine/io.py": "from eostation.formats.registry import default_formats\n",
            "engine/ok.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import fastapi\n"
            ),
            "jobs/__init__.py": "",
            "jobs/store.py": "import starlette.requests\nfrom eostation.engine import evaluate\n",
            "formats/__init__.py": "",
            "formats/gtiff.py": "from eostation.api import app\n",
        },
    )
    assert found == [
        "eostation.engine.evaluate:2 (in a function) -> eostation.jobs.store"
        " (eostation.engine must not import eostation.jobs)",
        "eostation.engine.io:1 -> eostation.formats.registry"
        " (eostation.engine must not import eostation.formats)",
        "eostation.formats.gtiff:1 -> eostation.api (eostation.formats must not import eostation.api)",
        "eostation.formats.gtiff:1 -> eostation.api (only eostation.cli imports eostation.api)",
        "eostation.jobs.store:1 -> starlette.requests (eostation.jobs must not import starlette)",
    ]
    assert loops == [["eostation.engine.evaluate", "eostation.jobs.store"]]


@pytest.mark.slow
def test_importing_the_api_does_not_import_dask() -> None:
    """The API process starts fast and stays small until a graph runs."""
    code = (
        "import sys, eostation.api.app, eostation.api.routes.result, eostation.api.routes.jobs,"
        " eostation.data.registry;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

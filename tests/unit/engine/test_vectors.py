"""The official openEO process test vectors, run through the registry and evaluator.

Every case of ``../shared/specs/openeo-processes/tests/*.json5`` becomes a one-node
graph evaluated with :func:`eostation.engine.evaluate.evaluate`. Collection reads only
the top-level vector files (with the Cython parser ``pyjson5``: the pure-Python ``json5``
took most of a minute for the files and their assets); a case resolves its
``assets/…`` references when it runs. Cases whose process (or a process they need) is
not registered are skipped at collection. Cases of experimental processes run like the
others.

The cases that eostation deliberately does not follow, and why, are listed once in
:mod:`.vector_exceptions` (``KNOWN``): they run under a strict ``xfail``, so a case that
starts to pass fails the suite until the list is corrected. The same module lists the
cases written with NaN/Infinity literals, which JSON cannot carry (a spec ambiguity).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.labeled import LabeledArray
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

from .conftest import SPECS
from .datacube_json import resolve_refs, same_cube, to_cube
from .vector_exceptions import KNOWN, NON_JSON_LITERALS

LIMITS = EngineLimits()

pyjson5 = pytest.importorskip("pyjson5")

REGISTRY = default_registry()
VECTORS = SPECS / "tests"


@functools.cache
def _document(name: str) -> dict[str, Any]:
    """The parsed vector file ``<name>.json5`` (its ``$ref`` assets unresolved)."""
    doc: dict[str, Any] = pyjson5.loads((VECTORS / f"{name}.json5").read_text())
    return doc


def _cases() -> Iterator[Any]:
    if not VECTORS.is_dir():
        yield pytest.param("", 0, marks=pytest.mark.skip(reason=f"no test vectors at {SPECS}"))
        return
    for path in sorted(VECTORS.glob("*.json5")):
        doc = _document(path.stem)
        for index, case in enumerate(doc["tests"]):
            marks: list[pytest.MarkDecorator] = []
            missing = [p for p in [doc["id"], *case.get("required", [])] if p not in REGISTRY]
            if missing:
                marks.append(pytest.mark.skip(reason=f"needs {missing}"))
            elif (doc["id"], index) in KNOWN:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[(doc["id"], index)]))
            yield pytest.param(path.stem, index, marks=marks, id=f"{doc['id']}-{index}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "nodata":
            return None
        if kind == "labeled-array":
            items = value["data"]
            return LabeledArray.from_values(
                [_decode(i["value"]) for i in items], [i["key"] for i in items]
            )
        if kind == "datacube":
            return to_cube(value)
        if "$ref" in value:
            raise AssertionError(f"the vector references a missing file: {value['$ref']}")
        if kind == "datetime":
            return value["value"]
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _same(actual: Any, expected: Any, delta: float) -> bool:
    if isinstance(expected, dict) and expected.get("type") == "datacube":
        problem = same_cube(actual, expected, delta)
        assert problem is None, problem
        return True
    if isinstance(expected, dict) and expected.get("type") == "nodata":
        return actual is None
    if isinstance(expected, dict) and expected.get("type") == "datetime":
        return isinstance(actual, str) and pd.Timestamp(actual) == pd.Timestamp(expected["value"])
    if isinstance(expected, dict) and expected.get("type") == "labeled-array":
        if not isinstance(actual, LabeledArray):
            return False
        items = expected["data"]
        return actual.labels == [i["key"] for i in items] and _same(
            actual.tolist(), [i["value"] for i in items], delta
        )
    if isinstance(actual, LabeledArray) and isinstance(expected, list):
        if expected and all(isinstance(e, dict) and "key" in e for e in expected):
            return _same(actual, {"type": "labeled-array", "data": expected}, delta)
        actual = actual.tolist()
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(a, e, delta) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        if math.isinf(expected) or math.isinf(actual):
            return actual == expected
        return abs(actual - expected) <= delta
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(_same(actual[k], expected[k], delta) for k in expected)
        )
    return bool(actual == expected)


# The vectors still use a few pre-1.0 spellings; we translate them, not the engine.
_RENAMED_ARGUMENTS = {("array_filter", "process"): "condition"}


def _modernise(value: Any, siblings: frozenset[str] = frozenset()) -> Any:
    """``from_argument`` → ``from_parameter`` (``from_node`` when it names a node of the
    same graph) and ``element`` → ``x`` in callbacks."""
    if isinstance(value, dict):
        if isinstance(value.get("process_graph"), dict):
            return {**value, "process_graph": _nodes(value["process_graph"])}
        if value and all(isinstance(v, dict) and "process_id" in v for v in value.values()):
            return {"process_graph": _nodes(value)}
        if "from_argument" in value:
            name = value["from_argument"]
            return {"from_node": name} if name in siblings else {"from_parameter": name}
        if value.get("from_parameter") == "element":
            return {"from_parameter": "x"}
        return {k: _modernise(v, siblings) for k, v in value.items()}
    if isinstance(value, list):
        return [_modernise(v, siblings) for v in value]
    return value


def _nodes(graph: dict[str, Any]) -> dict[str, Any]:
    ids = frozenset(graph)
    return {
        node_id: {**node, "arguments": _modernise(node.get("arguments", {}), ids)}
        for node_id, node in graph.items()
    }


def _run(process_id: str, arguments: dict[str, Any]) -> Any:
    arguments = {
        _RENAMED_ARGUMENTS.get((process_id, k), k): _modernise(v) for k, v in arguments.items()
    }
    inline: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for name, value in arguments.items():
        decoded = _decode(value)
        if isinstance(decoded, (LabeledArray, xr.DataArray)) or (
            isinstance(decoded, list) and any(isinstance(v, LabeledArray) for v in decoded)
        ):
            params[name] = decoded
            inline[name] = {"from_parameter": name}
        else:
            inline[name] = decoded
    graph = {
        "process_graph": {"n": {"process_id": process_id, "arguments": inline, "result": True}}
    }
    env = EvalContext(REGISTRY, LIMITS)
    return evaluate(graph, env, params)


@pytest.mark.parametrize(("name", "index"), list(_cases()))
def test_vector(name: str, index: int) -> None:
    doc = _document(name)
    case = resolve_refs(doc["tests"][index], VECTORS, pyjson5)
    _check(doc["id"], case)


def test_known_failures_name_existing_cases(specs_dir: Path) -> None:
    """A typo in ``KNOWN`` would otherwise leave a case unmarked and a stale entry unused."""
    for process_id, index in KNOWN:
        assert index < len(_document(process_id)["tests"]), (process_id, index)


def _has_non_json_literal(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_json_literal(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_json_literal(v) for v in value)
    return False


def test_non_json_list_matches_the_vectors(specs_dir: Path) -> None:
    found = {}
    for path in sorted(VECTORS.glob("*.json5")):
        cases = _document(path.stem)["tests"]
        indices = tuple(i for i, case in enumerate(cases) if _has_non_json_literal(case))
        if indices:
            found[path.stem] = indices
    assert found == NON_JSON_LITERALS


def _check(process_id: str, case: dict[str, Any]) -> None:
    throws = case.get("throws")
    delta = case.get("delta", 1e-10)
    try:
        actual = _run(process_id, case["arguments"])
    except OpenEOError as err:
        assert throws, f"unexpected {err.code}: {err.message}"
        if isinstance(throws, str) and "returns" not in case:
            assert throws in (err.code, err.params.get("exception")), err.message
        return
    if "returns" not in case:
        raise AssertionError(f"expected {throws}, got {actual!r}")
    assert _same(actual, case["returns"], delta), f"got {actual!r}, expected {case['returns']!r}"

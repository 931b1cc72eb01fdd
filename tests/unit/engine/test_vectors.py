"""The official openEO process test vectors, run through the registry and evaluator.

Every case of ``../shared/specs/openeo-processes/tests/*.json5`` becomes a one-node
graph evaluated with :func:`eostation.engine.evaluate.evaluate`. Cases whose process
(or a process they need) is not implemented yet are skipped; cases with datacube
arguments belong to the cube processes. Cases of experimental processes run, and a
failure there is reported as xfail.

Known failures: each case below contradicts the process spec, the test README or its
own asset, in a way anyone can check from the files (``KNOWN`` holds the short reason
shown by pytest). Cases of experimental processes are marked (exp.) and do not count
towards the pass rate.

| case | why the vector is wrong |
| --- | --- |
| lte-15 | expects ``lte(inf, inf)`` false; lte "compares whether x is less than or equal to y", and the eq/gte vectors give ``eq(inf, inf)`` = ``gte(inf, inf)`` = true |
| product-10 | expects NaN for ``[1, -inf, 3, inf]``; the spec says products "follow IEEE Standard 754", which gives ``-inf`` (no factor is 0), and product-9 gives ``-inf`` for ``[1, -inf, 3]`` |
| array_append-0 | expects ``[1]`` after appending 0 to ``[]``; the process "appends a value to the end of the array" |
| array_apply-8 | its callback calls ``mulitply``, a process that does not exist (``required`` names ``multiply``); even with ``multiply`` it expects 6.45 where (-4.725 + 1.5) * 2 = -6.45 |
| array_element-3 | asks for label ``BO2`` (letter O) of ``[B01, B02, B03]`` and expects 5; the spec throws ``ArrayElementNotAvailable`` for an invalid label (as array_element-8 expects for ``BO4``) |
| array_filter-0 | its condition calls ``gt`` without the required ``y``; tests/README.md: "input that is not valid according to the process schema must be rejected upfront" |
| array_filter-5 | its condition is ``subtract(x, 1)``: 0.23 for B01 and -0.02 for B02, neither ``true`` ("only the array elements for which the condition returns ``true`` are preserved") and both non-zero, yet only B01 is kept; ``required`` names ``gt``, and with ``gt(x, 1)`` the case passes |
| array_find-6 | expects index 1 for value 3 of ``[3, 4]``; the process returns "the zero-based index of the first occurrence" (array_find-3 gives 0 for the first element) |
| array_modify-3 (exp.) | removes one element with ``length`` omitted, which needs a default of 1; array_modify-2 inserts with ``length`` omitted, which needs 0, the spec's default (CHANGELOG: "Change the default value for ``length`` from ``1`` to ``0``"); the spec's example "Remove a single value" still assumes 1 |
| normalized_difference-3 | passes null for ``x`` whose schema is ``number`` only (the one vector in the suite passing null where the schema has no null); tests/README.md: such input "must be rejected upfront" |
| apply-2, apply_dimension-1, reduce_dimension-1 | expect blue=165 at (y0, x3) of ``assets/xyb-minimal-int.json5`` (1650, median 192, 192/165); the asset holds 255 there, its ``nodata``; with 165 in the asset all three pass |
| apply_dimension-2 | applies over ``bands`` on ``xyt-more-timestamps`` (dimensions t, y, x) and expects min/mean/max over ``t``; the spec: "fails with a DimensionNotAvailable exception if the specified dimension does not exist" |
| filter_bands-4 | filters ``[red, blue]`` but expects the bands ``[blue, green]`` (with their data); filter_bands-3 has the same arguments and expects ``[red, blue]``; "the order of the specified array defines the order of the bands" |
| mask-0, mask-2 | replace where ``xyb-mask`` is 0 and keep where it is 1 (e.g. y0, x0: mask 1, 172 kept); mask replaces pixels "whose pixels in mask are non-zero (for numbers) or true". mask-2 is not even consistent with the inverted reading: at (y2, x2), mask 1, it expects ``-1`` |
| mask-1 | references ``assets/xyb-minimal-float.json5``, which does not exist (its expected cube is ``xyt-minimal-float`` masked where ``xyb-mask`` is 0, as in mask-0) |
| mask_polygon-0, mask_polygon-1 | the polygon (16.1–16.6 °E, 48.1–48.6 °N, Vienna) misses the cube (EPSG:25832 x 404835–404865, y 5757475–5757495: 7.615 °E, 51.96 °N, Münster), yet ``inside=true`` expects every pixel replaced and ``inside=false`` none; mask_polygon-6 (``inside=true`` replaces the pixels inside) agrees with the spec |
| mask_polygon-6 | ``xytb-s2-small-masked-inside`` keeps 4 pixels inside the polygon (nir, 2020-06-13, y 5757475, x 404865–404895; centres at 51.959823 °N, inside 51.959822–51.960054) that it masks in the other 23 band/date slices; ``-masked-outside`` treats them as inside in all 24 |
| rename_dimension-3, rename_dimension-4 | rename ``x`` → ``lon`` (``y`` → ``lat``), but the expected cube renames the other axis: ``lon`` carries the y axis and labels while ``x`` is still there |
| rename_labels-5, rename_labels-7 | omit ``target``, which the spec requires (not ``optional``); their ``source`` labels (``red`` …) are not among the cube's labels ``0, 1, 2`` either (``LabelNotAvailable``); given as ``target`` instead, both pass |
| aggregate_temporal-5, -6, -7, -8, -9 | aggregate January 2020 intervals of ``xyt-more-timestamps``, whose dates are 2020-06-01 … 06-09 (the filter_temporal and merge_cubes vectors use those June dates); the expected values are those of dates 2020-01-01, -03, -05, -07, -09 (with those, 8 passes). 5, 6, 7 and 9 also round to 2–3 decimals without a ``delta`` (e.g. 56.07 for 168.22 / 3), and 9 puts ``labels`` inside the reducer |
| aggregate_temporal-10 | its reducer is ``mean`` but the expected values are medians (``required`` lists ``median``; with ``median`` it passes) |
| aggregate_temporal_period-3 | ``hour`` over 00:00–04:00 of 2020-06-01 spans five hours, labelled ``2020-06-01-00`` … ``-04`` by the spec (02 and 03 empty); the vector expects four labels ``2020-06-01-00`` … ``2020-06-04-00`` (the day case's shape) |
| aggregate_temporal_period-4 | ``day`` labels are ``YYYY-001`` – ``YYYY-365`` by the spec (``2020-153`` …); the vector expects ``2020-06-01-00`` …, the hour format (its values match ours) |
| aggregate_temporal_period-8, -9 | aggregate the dimension ``t2`` and expect it renamed to ``t``; the spec: "the dimension properties (name, …) remain unchanged" except labels and resolution, and aggregate_temporal_period-7 keeps ``t2`` (labels and values match ours) |
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
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

from .conftest import SPECS
from .datacube_json import resolve_refs, same_cube, to_cube

LIMITS = EngineLimits()

json5 = pytest.importorskip("json5")

REGISTRY = default_registry()

# (process id, case index) -> why we deliberately differ from the vector.
KNOWN: dict[tuple[str, int], str] = {
    ("lte", 15): "expects inf <= inf false; eq(inf, inf) and gte(inf, inf) are true",
    ("product", 10): "expects NaN for 1 * -inf * 3 * inf; IEEE 754 (the spec) gives -inf",
    ("array_append", 0): "expects [1] after appending 0 to []",
    ("array_apply", 8): "calls the non-existent process 'mulitply'; expects 6.45 for -6.45",
    ("array_element", 3): "looks up label 'BO2' (letter O), expects the value of 'B02'",
    ("array_filter", 0): "its condition calls gt without the required y (rejected upfront)",
    ("array_filter", 5): "its condition returns 0.23 and -0.02 (not true), yet keeps B01 only",
    ("array_find", 6): "expects index 1 for the value at (zero-based) index 0",
    ("array_modify", 3): "needs length default 1; array_modify-2 and the spec need 0",
    ("normalized_difference", 3): "null x violates the spec schema (number); rejected upfront",
    ("apply", 2): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    ("apply_dimension", 1): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    ("reduce_dimension", 1): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    (
        "apply_dimension",
        2,
    ): "dimension 'bands' does not exist: the spec throws DimensionNotAvailable",
    ("filter_bands", 4): "filters [red, blue] (as filter_bands-3) but expects [blue, green]",
    ("mask", 0): "replaces where the mask is 0; the spec replaces where it is non-zero",
    ("mask", 1): "references assets/xyb-minimal-float.json5, which does not exist",
    ("mask", 2): "replaces where the mask is 0; the spec replaces where it is non-zero",
    ("mask_polygon", 0): "polygon near Vienna misses the cube near Münster; expects all replaced",
    ("mask_polygon", 1): "polygon near Vienna misses the cube near Münster; expects none replaced",
    ("mask_polygon", 6): "masked-inside asset leaves 4 in-polygon pixels of one slice unmasked",
    ("aggregate_temporal", 5): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 6): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 7): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 8): "January intervals over an asset dated June 2020",
    ("aggregate_temporal", 9): "January intervals over a June asset; labels inside the reducer",
    ("aggregate_temporal", 10): "the reducer is mean but the expected values are medians",
    ("aggregate_temporal_period", 3): "hour over 00:00-04:00 spans 5 hours; expects 4 day labels",
    ("aggregate_temporal_period", 4): "day labels are YYYY-DDD by the spec; expects YYYY-MM-DD-00",
    ("aggregate_temporal_period", 8): "expects dimension t2 renamed to t; the spec keeps the name",
    ("aggregate_temporal_period", 9): "expects dimension t2 renamed to t; the spec keeps the name",
    ("rename_dimension", 3): "renames x to lon, but the expected cube renames y (keeps x)",
    ("rename_dimension", 4): "renames y to lat, but the expected cube renames x (keeps y)",
    ("rename_labels", 5): "omits the required target (and its source labels do not exist)",
    ("rename_labels", 7): "omits the required target (and its source label does not exist)",
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
    env = EvalContext(REGISTRY, LIMITS)
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

"""Graph size and depth limits, and evaluation cost that stays linear in the graph size."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.graph import check_complexity
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.engine.validation import validate
from eostation.errors import ProcessGraphComplexity

REGISTRY = default_registry()
LIMITS = EngineLimits()


def chain(nodes: int) -> dict[str, Any]:
    """``nodes`` additions, each adding 1 to the one before."""
    graph: dict[str, Any] = {"n0": {"process_id": "add", "arguments": {"x": 0, "y": 1}}}
    for i in range(1, nodes):
        graph[f"n{i}"] = {
            "process_id": "add",
            "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1},
        }
    graph[f"n{nodes - 1}"]["result"] = True
    return {"process_graph": graph}


def nested(levels: int) -> dict[str, Any]:
    """``levels`` callbacks inside each other: array_apply over [1], adding 1 at the bottom."""
    inner: dict[str, Any] = {
        "a": {
            "process_id": "add",
            "arguments": {"x": {"from_parameter": "x"}, "y": 1},
            "result": True,
        }
    }
    for _ in range(levels - 1):
        inner = {
            "m": {
                "process_id": "array_apply",
                "arguments": {
                    "data": [{"from_parameter": "x"}],
                    "process": {"process_graph": inner},
                },
            },
            "r": {
                "process_id": "array_element",
                "arguments": {"data": {"from_node": "m"}, "index": 0},
                "result": True,
            },
        }
    return {
        "process_graph": {
            "top": {
                "process_id": "array_apply",
                "arguments": {"data": [1], "process": {"process_graph": inner}},
                "result": True,
            }
        }
    }


def test_settings_defaults_allow_10000_nodes_and_depth_100() -> None:
    limits = EngineLimits.from_settings(Settings(), accounts=1)
    assert limits.graph_max_nodes >= 10_000 and limits.graph_max_depth >= 100
    check_complexity(chain(10_000), limits)
    with pytest.raises(ProcessGraphComplexity, match="more than 10,000 nodes"):
        check_complexity(chain(10_001), limits)


def test_too_deep_is_a_400_naming_the_setting() -> None:
    limits = replace(LIMITS, graph_max_depth=20)
    with pytest.raises(ProcessGraphComplexity) as info:
        check_complexity(nested(30), limits)
    assert info.value.status == 400 and "GRAPH_MAX_DEPTH" in info.value.message
    [problem] = validate(nested(30), REGISTRY, limits=limits)
    assert problem.code == "ProcessGraphComplexity"


def test_a_deep_literal_counts_as_depth_and_never_overflows() -> None:
    value: Any = 1
    for _ in range(100_000):
        value = [value]
    graph = {
        "process_graph": {
            "r": {"process_id": "array_create", "arguments": {"data": value}, "result": True}
        }
    }
    with pytest.raises(ProcessGraphComplexity, match="deeper than 100"):
        check_complexity(graph, LIMITS)


def _depth_and_nodes(graph: dict[str, Any]) -> tuple[int, int]:
    """Reference count, written independently of the implementation (recursive)."""

    def value(item: Any, depth: int) -> tuple[int, int]:
        if isinstance(item, dict) and "process_graph" in item:
            return nodes(item["process_graph"], depth)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
        )
        found = [value(child, depth + 1) for child in children]
        return max([depth, *(d for d, _ in found)]), sum(n for _, n in found)

    def nodes(graph: dict[str, Any], depth: int) -> tuple[int, int]:
        found = [value(a, depth + 1) for n in graph.values() for a in n["arguments"].values()]
        return max([depth, *(d for d, _ in found)]), len(graph) + sum(n for _, n in found)

    return nodes(graph["process_graph"], 1)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.integers(1, 40),
    length=st.integers(1, 60),
    max_depth=st.integers(1, 90),
    max_nodes=st.integers(1, 150),
)
def test_limits_match_a_reference_count(
    levels: int, length: int, max_depth: int, max_nodes: int
) -> None:
    graph = nested(levels)
    graph["process_graph"]["extra"] = chain(length)["process_graph"]["n0"]
    depth, count = _depth_and_nodes(graph)
    limits = replace(LIMITS, graph_max_depth=max_depth, graph_max_nodes=max_nodes)
    if depth > max_depth or count > max_nodes:
        with pytest.raises(ProcessGraphComplexity):
            check_complexity(graph, limits)
    else:
        check_complexity(graph, limits)


def _udps(levels: int, fan_out: int) -> dict[str, dict[str, Any]]:
    """``f0(x) = x + 1``; ``f_i(x)`` calls ``f_{i-1}(x)`` ``fan_out`` times and sums."""
    table = {
        "f0": {
            "id": "f0",
            "parameters": [{"name": "x", "schema": {}}],
            "process_graph": {
                "a": {
                    "process_id": "add",
                    "arguments": {"x": {"from_parameter": "x"}, "y": 1},
                    "result": True,
                }
            },
        }
    }
    for i in range(1, levels + 1):
        calls = {
            f"c{k}": {
                "process_id": f"f{i - 1}",
                "namespace": "user",
                "arguments": {"x": {"from_parameter": "x"}},
            }
            for k in range(fan_out)
        }
        total = {
            "process_id": "sum",
            "arguments": {"data": [{"from_node": k} for k in calls]},
            "result": True,
        }
        table[f"f{i}"] = {
            "id": f"f{i}",
            "parameters": [{"name": "x", "schema": {}}],
            "process_graph": {**calls, "s": total},
        }
    return table


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(levels=st.integers(1, 30), fan_out=st.integers(1, 3), x=st.integers(-5, 5))
def test_shared_user_defined_processes_are_evaluated_once(
    levels: int, fan_out: int, x: int
) -> None:
    table = _udps(levels, fan_out)
    lookups: list[str] = []

    def udp(process_id: str) -> dict[str, Any] | None:
        lookups.append(process_id)
        return table.get(process_id)

    top = {
        "process_graph": {
            "t": {
                "process_id": f"f{levels}",
                "namespace": "user",
                "arguments": {"x": x},
                "result": True,
            }
        }
    }
    env = EvalContext(REGISTRY, LIMITS, udp=udp)
    assert evaluate(top, env, check=False) == fan_out**levels * (x + 1)
    # Each process id is looked up and run once: cost linear in the number of processes
    # (fan_out ** levels calls without memoisation: 3 ** 30 would never finish). The
    # predefined ids the processes call without a namespace are asked too, once each: a
    # user's own process of that id would take precedence.
    assert sorted(lookups) == sorted({*lookups})
    assert (
        {f"f{i}" for i in range(levels + 1)}
        <= {*lookups}
        <= {
            *(f"f{i}" for i in range(levels + 1)),
            *REGISTRY,
        }
    )


def test_a_graph_that_expands_beyond_the_evaluation_budget_stops() -> None:
    callback = {
        "process_graph": {
            "a": {
                "process_id": "add",
                "arguments": {"x": {"from_parameter": "x"}, "y": 1},
                "result": True,
            }
        }
    }
    graph = {
        "process_graph": {
            "m": {
                "process_id": "array_apply",
                "arguments": {"data": list(range(100)), "process": callback},
                "result": True,
            }
        }
    }
    assert evaluate(graph, EvalContext(REGISTRY, LIMITS)) == list(range(1, 101))
    with pytest.raises(ProcessGraphComplexity, match="more than 50 process runs"):
        evaluate(graph, EvalContext(REGISTRY, replace(LIMITS, graph_max_evaluations=50)))

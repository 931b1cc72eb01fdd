"""Flat openEO process graphs: parsing into a DAG, its structure and its size.

:func:`parse` turns ``{"node_id": {"process_id", "arguments", "result"}, ...}`` into a
:class:`ProcessGraph` or raises the first structural problem; :func:`check_complexity`
refuses graphs beyond the engine's limits. Reporting *every* problem without running
anything (``POST /validation``) is :mod:`eostation.engine.validation`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from eostation.engine.limits import EngineLimits
from eostation.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
)

__all__ = [
    "PREDEFINED_NAMESPACES",
    "Node",
    "ProcessGraph",
    "UdpLookup",
    "check_complexity",
    "flat_graph",
    "is_reference",
    "parse",
    "references",
]

UdpLookup = Callable[[str], dict[str, Any] | None]
PREDEFINED_NAMESPACES = frozenset({"backend", "predefined"})


@dataclass(frozen=True)
class Node:
    """One node: which process it runs, with which (unresolved) arguments."""

    id: str
    process_id: str
    arguments: Mapping[str, Any]
    namespace: str | None = None
    result: bool = False


@dataclass(frozen=True)
class ProcessGraph:
    """A parsed, acyclic process graph; ``order`` lists the result's ancestors first."""

    nodes: Mapping[str, Node]
    result: str
    order: tuple[str, ...]


def flat_graph(graph: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node mapping of a graph given as nodes, ``{"process_graph": ...}`` or ``{"process": ...}``."""
    if "process" in graph and isinstance(graph["process"], Mapping):
        graph = graph["process"]
    if "process_graph" in graph and isinstance(graph["process_graph"], Mapping):
        return graph["process_graph"]
    return graph


_LEAVES = frozenset({float, int, str, bool, type(None)})
"""Types of plain JSON values, which hold no reference: the walks below skip them
without a call each, which matters for GeoJSON arguments (a thousand field polygons
are some 50,000 coordinates, walked several times while a graph is parsed)."""


def is_reference(value: Any) -> bool:
    """Whether an argument value is ``{"from_node"}``, ``{"from_parameter"}`` or a callback."""
    return isinstance(value, Mapping) and (
        "from_node" in value or "from_parameter" in value or "process_graph" in value
    )


def references(value: Any, key: str) -> Iterator[str]:
    """Every ``from_node``/``from_parameter`` (per ``key``) in a value, not inside callbacks."""
    if isinstance(value, Mapping):
        if key in value and isinstance(value[key], str):
            yield value[key]
        elif (
            "process_graph" not in value
            and "from_node" not in value
            and "from_parameter" not in value
        ):
            for item in value.values():
                yield from references(item, key)
    elif isinstance(value, list):
        for item in value:
            if type(item) not in _LEAVES:
                yield from references(item, key)


def check_complexity(graph: Mapping[str, Any], limits: EngineLimits) -> None:
    """Raise ``ProcessGraphComplexity`` when ``graph`` has too many nodes or nests too deeply.

    Nodes are counted over the graph and all its callbacks; depth counts every level of
    nesting (a callback, an array or object in an argument). One pass with an explicit
    stack, so it stays linear and cannot overflow on a hostile document.
    """
    nodes = 0
    stack: list[tuple[Any, int, bool]] = [(flat_graph(graph), 1, True)]
    while stack:
        value, depth, is_graph = stack.pop()
        if depth > limits.graph_max_depth:
            raise _too_complex(f"it nests deeper than {limits.graph_max_depth} levels")
        if is_graph and isinstance(value, Mapping):
            nodes += len(value)
            if nodes > limits.graph_max_nodes:
                raise _too_complex(f"it has more than {limits.graph_max_nodes:,} nodes")
            for node in value.values():
                arguments = node.get("arguments") if isinstance(node, Mapping) else None
                if isinstance(arguments, Mapping):
                    stack.extend((v, depth + 1, False) for v in arguments.values())
        elif isinstance(value, Mapping):
            inner = value.get("process_graph")
            if isinstance(inner, Mapping):  # a callback: one level, like its wrapper
                stack.append((inner, depth, True))
            else:
                stack.extend((v, depth + 1, False) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, False) for v in value)


def _too_complex(reason: str) -> ProcessGraphComplexity:
    return ProcessGraphComplexity(
        message=f"The process graph is too complex: {reason}. Split it or simplify it "
        "(the server's limits are EOSTATION_LIMITS__GRAPH_MAX_NODES and "
        "EOSTATION_LIMITS__GRAPH_MAX_DEPTH).",
        reason=reason,
    )


def _callbacks(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        if isinstance(value.get("process_graph"), Mapping):
            yield value["process_graph"]
        elif "from_node" not in value and "from_parameter" not in value:
            for item in value.values():
                yield from _callbacks(item)
    elif isinstance(value, list):
        for item in value:
            if type(item) not in _LEAVES:
                yield from _callbacks(item)


def _malformed(value: Any, where: str) -> Iterator[str]:
    """Reference and callback objects of the wrong shape, anywhere in an argument value."""
    if isinstance(value, Mapping):
        for key in ("from_node", "from_parameter"):
            if key in value and not isinstance(value[key], str):
                yield f"{where}: '{key}' must be a string, not {type(value[key]).__name__}"
        if "process_graph" in value:
            callback = value["process_graph"]
            if not isinstance(callback, Mapping):
                yield f"{where}: 'process_graph' must be an object of nodes"
                return
            for node_id, node in callback.items():
                if isinstance(node, Mapping) and isinstance(node.get("arguments"), Mapping):
                    for name, item in node["arguments"].items():
                        yield from _malformed(item, f"{where} > callback node {node_id}.{name}")
            return
        for key, item in value.items():
            yield from _malformed(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if type(item) not in _LEAVES:
                yield from _malformed(item, f"{where}[{i}]")


def _structure(nodes: Mapping[str, Any]) -> tuple[dict[str, Node], list[OpenEOError]]:
    problems: list[OpenEOError] = []
    parsed: dict[str, Node] = {}
    if not isinstance(nodes, Mapping) or not nodes:
        return parsed, [
            ProcessGraphInvalid(reason="a process graph must be a non-empty object of nodes")
        ]
    for node_id, node in nodes.items():
        if not isinstance(node, Mapping) or not isinstance(node.get("process_id"), str):
            problems.append(ProcessGraphInvalid(reason=f"node '{node_id}' has no 'process_id'"))
            continue
        arguments = node.get("arguments", {})
        if not isinstance(arguments, Mapping):
            problems.append(
                ProcessGraphInvalid(reason=f"'arguments' of node '{node_id}' is not an object")
            )
            arguments = {}
        namespace = node.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            problems.append(
                ProcessGraphInvalid(reason=f"'namespace' of node '{node_id}' is not a string")
            )
            namespace = None
        problems.extend(
            ProcessGraphInvalid(reason=f"node '{node_id}', argument {problem}")
            for name, value in arguments.items()
            for problem in _malformed(value, str(name))
        )
        parsed[node_id] = Node(
            node_id,
            node["process_id"],
            arguments,
            namespace,
            node.get("result") is True,
        )
    results = [n.id for n in parsed.values() if n.result]
    if len(results) != 1 and len(parsed) == len(nodes):
        found = ", ".join(results) or "none"
        problems.append(
            ProcessGraphInvalid(reason=f"exactly one node needs 'result': true (found {found})")
        )
    for node in parsed.values():
        for target in references(dict(node.arguments), "from_node"):
            if target not in nodes:
                problems.append(
                    ProcessGraphInvalid(
                        reason=f"node '{node.id}' refers to unknown node '{target}'"
                    )
                )
    return parsed, problems


def _order(parsed: Mapping[str, Node], result: str) -> tuple[tuple[str, ...], list[OpenEOError]]:
    """Post-order of the result's ancestors (dependencies first), or the cycle found."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[tuple[str, Iterator[str]]] = [(result, _deps(parsed[result]))]
    state[result] = 1
    while stack:
        node_id, deps = stack[-1]
        dep = next(deps, None)
        if dep is None:
            stack.pop()
            state[node_id] = 2
            order.append(node_id)
        elif dep in parsed and state.get(dep) == 1:
            return (), [ProcessGraphInvalid(reason=f"the graph has a cycle through node '{dep}'")]
        elif dep in parsed and dep not in state:
            state[dep] = 1
            stack.append((dep, _deps(parsed[dep])))
    return tuple(order), []


def _deps(node: Node) -> Iterator[str]:
    return iter(sorted(set(references(dict(node.arguments), "from_node"))))


def parse(graph: Mapping[str, Any]) -> ProcessGraph:
    """A :class:`ProcessGraph`, or ``ProcessGraphInvalid`` for the first structural problem."""
    parsed, problems = _structure(flat_graph(graph))
    if problems:
        raise problems[0]
    result = next(n.id for n in parsed.values() if n.result)
    order, problems = _order(parsed, result)
    if problems:
        raise problems[0]
    return ProcessGraph(parsed, result, order)

"""Flat openEO process graphs: parsing into a DAG and validation before anything runs.

:func:`parse` turns ``{"node_id": {"process_id", "arguments", "result"}, ...}`` into a
:class:`ProcessGraph` or raises the first structural problem. :func:`validate` reports
*every* problem it can find without running anything (for ``POST /validation``):
structure, references, cycles, unknown processes, unknown or missing arguments and the
JSON types of literal arguments, descending into callbacks with their parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from eostation.engine import rfc3339
from eostation.engine.limits import EngineLimits
from eostation.engine.lonlat import geojson_problem
from eostation.engine.registry import ProcessRegistry
from eostation.engine.schema import JsonSchema
from eostation.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)

__all__ = [
    "Node",
    "ProcessGraph",
    "callback_parameters",
    "check_complexity",
    "flat_graph",
    "is_reference",
    "matches_schema",
    "parse",
    "references",
    "validate",
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
        problems.extend(
            ProcessGraphInvalid(reason=f"node '{node_id}', argument {problem}")
            for name, value in arguments.items()
            for problem in _malformed(value, str(name))
        )
        parsed[node_id] = Node(
            node_id,
            node["process_id"],
            arguments,
            node.get("namespace"),
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


def callback_parameters(schema: JsonSchema) -> set[str] | None:
    """Names a callback parameter's schema offers (None when the schema says nothing)."""
    found: set[str] | None = None
    for option in schema if isinstance(schema, list) else [schema]:
        if option.get("subtype") == "process-graph" and "parameters" in option:
            found = (found or set()) | {p["name"] for p in option["parameters"]}
    return found


_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, Mapping),
}


_FORMATS: Mapping[Any, Callable[[str], bool]] = {
    "date": rfc3339.is_date,
    "date-time": rfc3339.is_date_time,
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _mismatch(value: Any, schema: JsonSchema, node_id: str) -> str:
    """Why ``value`` does not fit ``schema``: the bad date when dates are expected."""
    if '"format": "date' in json.dumps(schema):
        for text in _strings(value):
            if not (rfc3339.is_date(text) or rfc3339.is_date_time(text)):
                return f"'{text}' is not {rfc3339.EXPECTED} (node '{node_id}')"
    return f"{value!r} does not match the expected type (node '{node_id}')"


def matches_schema(value: Any, schema: JsonSchema) -> bool:
    """Whether a literal value fits a schema by JSON type, ``enum`` and array ``items``.

    References and callbacks always fit (they are checked when they resolve); bounds such
    as ``minimum`` are left to the processes, which define what out-of-range input gives.
    """
    if is_reference(value):
        return True
    if isinstance(schema, list):
        return not schema or any(matches_schema(value, s) for s in schema)
    for key in ("anyOf", "oneOf"):
        if key in schema and not any(matches_schema(value, s) for s in schema[key]):
            return False
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_TYPES.get(name, lambda v: True)(value) for name in names):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    fmt = _FORMATS.get(schema.get("format"))
    if fmt is not None and isinstance(value, str) and not fmt(value):
        return False
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, (dict, list)) and items:
        return all(matches_schema(item, items) for item in value)
    return True


def validate(
    graph: Mapping[str, Any],
    registry: ProcessRegistry,
    *,
    parameters: set[str] | None = None,
    udp: UdpLookup | None = None,
    limits: EngineLimits | None = None,
) -> list[OpenEOError]:
    """Every problem found in ``graph`` without running it (empty list: valid).

    ``parameters`` are the names ``from_parameter`` may use at the top level (a stored
    process's parameters); None takes them from ``graph["parameters"]`` when present,
    else no top-level parameter is allowed. ``udp`` looks up user-defined processes.
    With ``limits``, a graph beyond its size or depth is one ``ProcessGraphComplexity``
    problem and nothing else is checked.
    """
    if limits is not None:
        try:
            check_complexity(graph, limits)
        except ProcessGraphComplexity as err:
            return [err]
    if parameters is None:
        declared = graph.get("parameters") if "process_graph" in graph else None
        # A malformed declaration declares nothing; references to it are then reported.
        parameters = {
            p["name"]
            for p in (declared if isinstance(declared, list) else [])
            if isinstance(p, Mapping) and isinstance(p.get("name"), str)
        }
    return _validate(flat_graph(graph), registry, parameters, _remembered(udp))


def _remembered(udp: UdpLookup | None) -> UdpLookup | None:
    """``udp`` asked once per process id: a graph names the same process many times."""
    if udp is None:
        return None
    seen: dict[str, dict[str, Any] | None] = {}

    def lookup(process_id: str) -> dict[str, Any] | None:
        if process_id not in seen:
            seen[process_id] = udp(process_id)
        return seen[process_id]

    return lookup


def _validate(
    nodes: Mapping[str, Any],
    registry: ProcessRegistry,
    scope: set[str] | None,
    udp: UdpLookup | None,
) -> list[OpenEOError]:
    parsed, problems = _structure(nodes)
    if problems:
        return problems
    result = next(n.id for n in parsed.values() if n.result)
    _, cycle = _order(parsed, result)
    problems.extend(cycle)
    for node in parsed.values():
        problems.extend(_validate_node(node, registry, scope, udp))
    return problems


def _validate_node(
    node: Node, registry: ProcessRegistry, scope: set[str] | None, udp: UdpLookup | None
) -> list[OpenEOError]:
    problems: list[OpenEOError] = []
    arguments = dict(node.arguments)
    if scope is not None:
        for name in references(arguments, "from_parameter"):
            if name not in scope:
                problems.append(
                    ProcessGraphInvalid(
                        reason=f"node '{node.id}' refers to parameter '{name}', which is not defined here"
                    )
                )
    namespace = node.namespace
    if namespace is not None and namespace not in PREDEFINED_NAMESPACES | {"user"}:
        return problems  # a remote process: checked when it is fetched at run time
    own = udp(node.process_id) if namespace is None and udp is not None else None
    if namespace != "user" and own is None and node.process_id in registry:
        definition = registry.get(node.process_id)
        for name in arguments:
            if not definition.accepts(name):
                problems.append(
                    ProcessParameterUnsupported(process=node.process_id, parameter=name)
                )
        for param in definition.parameters:
            if not param.optional and param.name not in arguments:
                problems.append(
                    ProcessParameterRequired(process=node.process_id, parameter=param.name)
                )
            elif param.name in arguments:
                value = arguments[param.name]
                if not matches_schema(value, param.schema):
                    problems.append(
                        ProcessParameterInvalid(
                            process=node.process_id,
                            parameter=param.name,
                            reason=_mismatch(value, param.schema, node.id),
                        )
                    )
                elif (far := geojson_problem(value, node.process_id, param.name)) is not None:
                    problems.append(far)
                for child in _callbacks(value):
                    names = callback_parameters(param.schema)
                    inner = None if names is None or scope is None else scope | names
                    problems.extend(_validate(child, registry, inner, udp))
        return problems
    stored = udp(node.process_id) if udp is not None and namespace != "backend" else None
    if stored is None:
        problems.append(
            ProcessUnsupported(process=node.process_id, namespace=namespace or "backend")
        )
        return problems
    declared = {p["name"]: p for p in stored.get("parameters") or []}
    for name in arguments:
        if name not in declared:
            problems.append(ProcessParameterUnsupported(process=node.process_id, parameter=name))
    for name, param in declared.items():
        if name not in arguments and not param.get("optional") and "default" not in param:
            problems.append(ProcessParameterRequired(process=node.process_id, parameter=name))
    for value in arguments.values():
        for child in _callbacks(value):
            problems.extend(_validate(child, registry, None, udp))
    return problems

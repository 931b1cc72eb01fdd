"""Validation of a process graph before anything runs (``POST /validation``, job start).

:func:`validate` reports *every* problem it can find: structure, references, cycles,
unknown processes, unknown or missing arguments and the JSON types of literal
arguments, descending into callbacks with their parameters. A null namespace prefers the
user's own process over a predefined one of the same id, as at run time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from eostation.engine import rfc3339
from eostation.engine.graph import (
    PREDEFINED_NAMESPACES,
    Node,
    UdpLookup,
    _callbacks,
    _order,
    _structure,
    check_complexity,
    flat_graph,
    is_reference,
    references,
)
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

__all__ = ["callback_parameters", "matches_schema", "validate"]


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

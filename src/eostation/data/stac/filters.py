"""Metadata property filters: pushed into a STAC API search when they can be, and always
checked on the returned items.

A condition is what ``load_collection``/``load_stac`` receive per property: a callable
``value -> bool`` (already evaluated by the engine: client-side only), an openEO callback
(``{"process_graph": {...}}`` with one node among ``eq, neq, lt, lte, gt, gte, between``
comparing the ``value`` parameter to literals: translated to CQL2 and the ``query``
extension), or a plain literal (equality).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eostation.errors import ProcessParameterInvalid

__all__ = ["Condition", "conditions", "cql2", "query_ext"]

_CQL = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_PY: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_MIRROR = {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte", "eq": "eq", "neq": "neq"}


@dataclass(frozen=True)
class Condition:
    """A filter on one property; ``clauses`` are ``(op, literal)`` pairs when declarative."""

    name: str
    test: Callable[[Any], bool]
    clauses: tuple[tuple[str, Any], ...] | None = None

    def accepts(self, properties: Mapping[str, Any]) -> bool:
        """Whether an item's properties pass (a missing property never does)."""
        if self.name not in properties or properties[self.name] is None:
            return False
        try:
            return bool(self.test(properties[self.name]))
        except TypeError:
            return False


def _invalid(name: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process="load_stac", parameter="properties", reason=f"'{name}': {reason}"
    )


def _is_value(arg: Any) -> bool:
    return isinstance(arg, Mapping) and arg.get("from_parameter") == "value"


def _from_graph(name: str, graph: Mapping[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    nodes = list(graph.values())
    if len(nodes) != 1 or not isinstance(nodes[0], Mapping):
        return None
    node = nodes[0]
    pid, args = node.get("process_id"), node.get("arguments", {})
    if pid == "between" and _is_value(args.get("x")):
        if args.get("exclude_max"):
            return (("gte", args["min"]), ("lt", args["max"]))
        return (("gte", args["min"]), ("lte", args["max"]))
    if pid in _CQL:
        x, y = args.get("x"), args.get("y")
        if _is_value(x) and not isinstance(y, Mapping):
            return ((pid, y),)
        if _is_value(y) and not isinstance(x, Mapping):
            return ((_MIRROR[pid], x),)
    return None


def _condition(name: str, spec: Any) -> Condition:
    if callable(spec):
        return Condition(name, spec)
    if isinstance(spec, Mapping) and "process_graph" in spec:
        clauses = _from_graph(name, spec["process_graph"])
        if clauses is None:
            raise _invalid(
                name,
                "only one comparison (eq, neq, lt, lte, gt, gte, between) of the property "
                "value with literals can be evaluated here.",
            )
    else:
        clauses = (("eq", spec),)

    def test(value: Any, clauses: tuple[tuple[str, Any], ...] = clauses) -> bool:
        return all(_PY[op](value, literal) for op, literal in clauses)

    return Condition(name, test, clauses)


def conditions(properties: Mapping[str, Any] | None) -> list[Condition]:
    """Normalise a ``properties`` argument into conditions."""
    return [_condition(name, spec) for name, spec in (properties or {}).items()]


def cql2(conds: list[Condition]) -> dict[str, Any] | None:
    """A CQL2-JSON filter of the declarative conditions (None when there are none)."""
    args = [
        {"op": _CQL[op], "args": [{"property": c.name}, literal]}
        for c in conds
        if c.clauses
        for op, literal in c.clauses
    ]
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def query_ext(conds: list[Condition]) -> dict[str, Any] | None:
    """The same as a STAC API ``query`` extension object (None when there are none)."""
    out: dict[str, dict[str, Any]] = {}
    for c in conds:
        for op, literal in c.clauses or ():
            out.setdefault(c.name, {})[op] = literal
    return out or None

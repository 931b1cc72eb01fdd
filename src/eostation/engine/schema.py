"""JSON schemas of process parameters and return values, stated next to signatures.

A process parameter is annotated ``Annotated[<python type>, Param(<schema>)]``; the
aliases below name the schemas that many processes share, so a signature reads
``x: NumberOrNull``. When an annotation carries no :class:`Param`, the schema is
derived from the plain type (``bool`` → boolean, ``str | None`` → string or null, ...).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

__all__ = [
    "ANY",
    "ANY_ARRAY",
    "BOOLEAN",
    "BOOLEAN_OR_NULL",
    "DATE_OR_DATETIME",
    "DATE_TIME_OR_TIME",
    "LABELED_ARRAY",
    "NUMBER",
    "NUMBER_ARRAY",
    "NUMBER_OR_NULL",
    "SCALAR",
    "STRING",
    "AnyArray",
    "AnyValue",
    "Boolean",
    "BooleanOrNull",
    "Context",
    "NumberArray",
    "NumberOrNull",
    "Param",
    "Scalar",
    "callback_schema",
    "cb_param",
    "schema_of",
]

JsonSchema = dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class Param:
    """Metadata of one parameter or return value, carried in ``Annotated``.

    ``schema`` is the JSON schema (a list means "one of these", as in the specs).
    ``show_default=False`` marks an optional parameter without a documented default
    (its Python default is only a placeholder). ``deprecated`` flags a parameter that
    the spec deprecates.
    """

    schema: JsonSchema = field(default_factory=dict)
    show_default: bool = True
    deprecated: bool = False


NUMBER: dict[str, Any] = {"type": "number"}
NUMBER_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
BOOLEAN_OR_NULL: dict[str, Any] = {"type": ["boolean", "null"]}
STRING: dict[str, Any] = {"type": "string"}
SCALAR: dict[str, Any] = {"type": ["number", "boolean", "string", "null"]}
ANY: dict[str, Any] = {}
ANY_ARRAY: dict[str, Any] = {"type": "array", "items": {}}
NUMBER_ARRAY: dict[str, Any] = {"type": "array", "items": NUMBER_OR_NULL}
LABELED_ARRAY: dict[str, Any] = {"type": "array", "subtype": "labeled-array", "items": {}}
DATE_OR_DATETIME: list[dict[str, Any]] = [
    {"type": "string", "format": "date-time", "subtype": "date-time"},
    {"type": "string", "format": "date", "subtype": "date"},
]
DATE_TIME_OR_TIME: list[dict[str, Any]] = [
    *DATE_OR_DATETIME,
    {"type": "string", "subtype": "time", "pattern": "^\\d{2}:\\d{2}:\\d{2}$"},
]

NumberOrNull = Annotated[Any, Param(NUMBER_OR_NULL)]
"""A number or null; at run time also a numpy/xarray array of numbers (NaN = null)."""
Boolean = Annotated[bool, Param(BOOLEAN)]
BooleanOrNull = Annotated[Any, Param(BOOLEAN_OR_NULL)]
Scalar = Annotated[Any, Param(SCALAR)]
AnyValue = Annotated[Any, Param(ANY)]
AnyArray = Annotated[Any, Param(ANY_ARRAY)]
NumberArray = Annotated[Any, Param(NUMBER_ARRAY)]
Context = Annotated[Any, Param(ANY)]


_NO_DEFAULT: Any = object()


def cb_param(
    name: str, description: str, schema: JsonSchema, default: Any = _NO_DEFAULT
) -> dict[str, Any]:
    """One parameter that a callback receives; a default makes it optional."""
    entry: dict[str, Any] = {"name": name, "description": description, "schema": schema}
    if default is not _NO_DEFAULT:
        entry["optional"] = True
        entry["default"] = default
    return entry


def callback_schema(
    parameters: Sequence[dict[str, Any]], returns: JsonSchema, description: str = "The result."
) -> dict[str, Any]:
    """The schema of a callback (``subtype: process-graph``) parameter.

    ``parameters`` are built with :func:`cb_param`, in the order the process passes them.
    """
    return {
        "type": "object",
        "subtype": "process-graph",
        "parameters": list(parameters),
        "returns": {"description": description, "schema": returns},
    }


_PLAIN: Mapping[Any, dict[str, Any]] = {
    bool: BOOLEAN,
    int: {"type": "integer"},
    float: NUMBER,
    str: STRING,
    dict: {"type": "object"},
}


def schema_of(annotation: Any) -> tuple[JsonSchema, Param]:
    """The JSON schema for a resolved type annotation, and its :class:`Param`."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        for extra in extras:
            if isinstance(extra, Param):
                return extra.schema, extra
        return schema_of(base)
    return _derive(annotation), Param()


def _derive(annotation: Any) -> JsonSchema:
    if annotation is Any:
        return {}
    if annotation in _PLAIN:
        return dict(_PLAIN[annotation])
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(get_args(annotation))
        if len(members) == 1 and members[0] in _PLAIN:
            base = dict(_PLAIN[members[0]])
            if nullable:
                base["type"] = [base["type"], "null"]
            return base
        out: list[dict[str, Any]] = []
        for member in members:
            derived = _derive(member)
            out.extend(derived if isinstance(derived, list) else [derived])
        if nullable:
            out.append({"type": "null"})
        return out
    if origin in (list, tuple, Sequence):
        args = get_args(annotation)
        return {"type": "array", "items": _derive(args[0]) if args else {}}
    if origin is Callable or annotation is Callable:
        return {"type": "object", "subtype": "process-graph"}
    return {}

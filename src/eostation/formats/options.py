"""Format options: their JSON schema (for ``GET /file_formats``) and their validation.

Only the small JSON-schema subset that format options need is checked here:
``type`` (one or a list), ``enum`` (strings compared case-insensitively, as GDAL
does), ``minimum``/``maximum``, and ``items`` of arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eostation.errors import ProcessParameterInvalid

__all__ = ["FILENAME_PREFIX", "Option", "file_prefix", "validate_options"]

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class Option:
    """One option of a file format: a description plus a JSON schema for its value."""

    description: str
    schema: Mapping[str, Any]
    default: Any = None
    experimental: bool = False
    aliases: tuple[str, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        """The option as a ``resource_parameter`` of the openEO API."""
        out: dict[str, Any] = {"description": self.description, **self.schema}
        if self.default is not None or "null" in _types(self.schema):
            out["default"] = self.default
        if self.experimental:
            out["experimental"] = True
        return out


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    """Why ``value`` does not match ``schema`` (None when it does)."""
    types = _types(schema)
    if types:
        ok = any(
            isinstance(value, _PYTHON_TYPES[t])
            and not (t in ("integer", "number") and isinstance(value, bool))
            for t in types
        )
        if not ok and "integer" in types and isinstance(value, float) and value.is_integer():
            ok = True
        if not ok:
            return f"expected {' or '.join(types)}, got {type(value).__name__} {value!r}"
    if "enum" in schema and value is not None:
        allowed = schema["enum"]
        folded = {str(a).lower() for a in allowed}
        if (str(value).lower() if isinstance(value, str) else value) not in folded | set(allowed):
            return f"{value!r} is not one of {allowed}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{value} is less than {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{value} is greater than {schema['maximum']}"
        if isinstance(value, float) and math.isnan(value) and "number" not in types:
            return "NaN is not allowed"
    if isinstance(value, (list, tuple)) and "items" in schema:
        for i, item in enumerate(value):
            why = _problem(item, schema["items"])
            if why:
                return f"item {i}: {why}"
    return None


def _canonical(value: Any, schema: Mapping[str, Any]) -> Any:
    """Enum strings in the spelling the schema lists, integral floats as int for integers."""
    if isinstance(value, str) and "enum" in schema:
        for a in schema["enum"]:
            if isinstance(a, str) and a.lower() == value.lower():
                return a
    if isinstance(value, float) and _types(schema) == ["integer"]:
        return int(value)
    return value


def validate_options(
    format_name: str, spec: Mapping[str, Option], options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Check ``options`` against ``spec``; return every option with defaults filled in.

    Option names match case-insensitively (``COMPRESS`` is ``compress``). Unknown
    names and invalid values raise :class:`ProcessParameterInvalid` naming the option.
    """
    by_name: dict[str, str] = {}
    for name, opt in spec.items():
        by_name[name.lower()] = name
        for alias in opt.aliases:
            by_name[alias.lower()] = name
    out: dict[str, Any] = {name: opt.default for name, opt in spec.items()}
    for key, value in (options or {}).items():
        found = by_name.get(str(key).lower())
        if found is None:
            known = ", ".join(sorted(spec)) or "none"
            raise ProcessParameterInvalid(
                process="save_result",
                parameter="options",
                reason=f"format {format_name} has no option '{key}' (supported: {known})",
            )
        why = _problem(value, spec[found].schema)
        if why:
            raise ProcessParameterInvalid(
                process="save_result",
                parameter="options",
                reason=f"option '{found}' of format {format_name}: {why}",
            )
        out[found] = _canonical(value, spec[found].schema)
    return out


FILENAME_PREFIX = Option(
    "Replaces `openEO` at the start of the result file names (letters, digits, `-`, `_`, `.`).",
    {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"},
    default="openEO",
)


def file_prefix(format_name: str, options: Mapping[str, Any]) -> str:
    """The validated ``filename_prefix`` option (no path separators, no leading dot)."""
    prefix = str(options.get("filename_prefix") or "openEO")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    if prefix.startswith(".") or not set(prefix) <= allowed or len(prefix) > 100:
        raise ProcessParameterInvalid(
            process="save_result",
            parameter="options",
            reason=(
                f"option 'filename_prefix' of format {format_name}: {prefix!r} may hold only "
                "letters, digits, '-', '_' and '.', and must not start with '.'"
            ),
        )
    return prefix

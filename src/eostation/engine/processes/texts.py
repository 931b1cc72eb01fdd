"""Text processes: prefix, suffix and substring tests, search and concatenation."""

from __future__ import annotations

import json
from typing import Annotated, Any

from eostation.engine.registry import process
from eostation.engine.schema import Param

_TEXTS = ("texts",)
TextOrNull = Annotated[Any, Param({"type": ["string", "null"]})]
Pattern = Annotated[str, Param({"type": "string"})]
Bool = Annotated[bool, Param({"type": "boolean"})]
BoolOrNull = Annotated[Any, Param({"type": ["boolean", "null"]})]
_PRINTABLE = {"type": ["string", "number", "boolean", "null"]}


def _fold(data: str, pattern: str, case_sensitive: bool) -> tuple[str, str]:
    return (data, pattern) if case_sensitive else (data.casefold(), pattern.casefold())


@process("text_begins", categories=("texts", "comparison"))
def text_begins(data: TextOrNull, pattern: Pattern, case_sensitive: Bool = True) -> BoolOrNull:
    """Whether a text starts with a pattern (compared literally).

    Args:
        data: The text.
        pattern: The expected beginning.
        case_sensitive: Whether letter case must match.

    Returns:
        True or false; null for null text.
    """
    if data is None:
        return None
    text, start = _fold(data, pattern, case_sensitive)
    return text.startswith(start)


@process("text_ends", categories=("texts", "comparison"))
def text_ends(data: TextOrNull, pattern: Pattern, case_sensitive: Bool = True) -> BoolOrNull:
    """Whether a text ends with a pattern (compared literally).

    Args:
        data: The text.
        pattern: The expected ending.
        case_sensitive: Whether letter case must match.

    Returns:
        True or false; null for null text.
    """
    if data is None:
        return None
    text, end = _fold(data, pattern, case_sensitive)
    return text.endswith(end)


@process("text_contains", categories=("texts", "comparison"))
def text_contains(data: TextOrNull, pattern: Pattern, case_sensitive: Bool = True) -> BoolOrNull:
    """Whether a text contains a pattern anywhere (compared literally).

    Args:
        data: The text.
        pattern: The text to look for.
        case_sensitive: Whether letter case must match.

    Returns:
        True or false; null for null text.
    """
    if data is None:
        return None
    text, part = _fold(data, pattern, case_sensitive)
    return part in text


@process("text_find", categories=_TEXTS, experimental=True)
def text_find(
    data: TextOrNull, pattern: Pattern, case_sensitive: Bool = True
) -> Annotated[Any, Param({"type": ["integer", "null"], "minimum": 0})]:
    """Position of the first occurrence of a pattern in a text.

    Args:
        data: The text.
        pattern: The text to look for.
        case_sensitive: Whether letter case must match.

    Returns:
        The zero-based character position, or null when absent or for null text.
    """
    if data is None:
        return None
    text, part = _fold(data, pattern, case_sensitive)
    position = text.find(part)
    return position if position >= 0 else None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


@process("text_concat", categories=_TEXTS)
def text_concat(
    data: Annotated[Any, Param({"type": "array", "items": _PRINTABLE})],
    separator: Annotated[Any, Param(_PRINTABLE)] = "",
) -> Annotated[str, Param({"type": "string"})]:
    """Join values into one text; non-strings are written as in JSON.

    Args:
        data: The values to join.
        separator: Put between two values.

    Returns:
        The joined text.
    """
    return _as_text(separator).join(_as_text(v) for v in data)

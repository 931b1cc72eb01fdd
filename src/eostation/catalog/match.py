"""Item tests, ordering and paging over item dicts (the computed and passed-through items).

The SQLite index answers the cheap parts of a query in SQL and finishes with the same
functions, so every source of items agrees on what a query means.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import cql2
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eostation.errors import RequestInvalid

from .query import ItemPage, ItemQuery

__all__ = [
    "compile_filter",
    "expr_matches",
    "geometry_of",
    "item_interval",
    "matches",
    "page",
    "parse_instant",
    "sort_key",
    "sort_property",
]

_FAR_PAST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def parse_instant(value: str, parameter: str = "datetime") -> dt.datetime:
    """An RFC 3339 instant as an aware UTC datetime (naive values are taken as UTC)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise RequestInvalid(
            reason=f"{parameter}: '{value}' is not an RFC 3339 date-time such as "
            "2022-05-01T00:00:00Z."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def item_interval(item: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """``[start_datetime, end_datetime]`` of an item, or ``datetime`` twice."""
    props = item.get("properties") or {}
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    lo = parse_instant(start) if start else _FAR_PAST
    hi = parse_instant(end) if end else _FAR_FUTURE
    return lo, hi


@functools.lru_cache(maxsize=1024)
def _validate(canonical: str) -> None:
    """Validate a CQL2-JSON text against the CQL2 schema (raises when it does not hold).

    cql2's ``validate`` compiles the schema on every call: about 100 ms idle against
    0.1 ms for parsing, most of an OData search. A search validates its filter once per
    collection it touches and every page repeats it, so a valid expression is
    remembered by its canonical text (a pure result; failures are not cached).
    """
    cql2.Expr(json.loads(canonical)).validate()


def compile_filter(expression: dict[str, Any] | None, *, trusted: bool = False) -> cql2.Expr | None:
    """A CQL2-JSON expression ready to test items; ``RequestInvalid`` naming ``filter``.

    ``trusted``: the server built the expression (no schema check, only parsing)."""
    if expression is None:
        return None
    try:
        if not trusted:
            _validate(json.dumps(expression, sort_keys=True))
        expr = cql2.Expr(expression)
    except Exception as exc:  # cql2 raises a bare Exception for JSON of the wrong shape
        raise RequestInvalid(reason=f"filter: not a valid CQL2 expression: {exc}") from None
    return expr


def matches(
    item: dict[str, Any], query: ItemQuery, expr: cql2.Expr | None, *, spatial: bool = True
) -> bool:
    """Whether an item passes every restriction of the query (``spatial=False``: all but
    the footprint test, which the caller has done already)."""
    if query.collections is not None and item.get("collection") not in query.collections:
        return False
    if query.ids is not None and item.get("id") not in query.ids:
        return False
    if query.datetime is not None:
        lo, hi = item_interval(item)
        q_lo, q_hi = query.datetime
        if (q_hi is not None and lo > q_hi) or (q_lo is not None and hi < q_lo):
            return False
    if spatial and query.intersects is not None:
        geometry = item.get("geometry")
        if geometry is None or not query.intersects.intersects(shape(geometry)):
            return False
    return expr is None or expr_matches(expr, item)


def expr_matches(expr: cql2.Expr, item: dict[str, Any]) -> bool:
    """Whether a CQL2 expression holds for an item; a comparison with a property the item
    lacks is unknown, which does not match (CQL2's three-valued logic)."""
    try:
        return bool(expr.matches(item))
    except Exception:  # cql2 raises a bare Exception when a value is missing or mistyped
        return False


def sort_property(name: str) -> str:
    """A sort field without the optional ``properties.`` prefix."""
    return name.removeprefix("properties.")


def _value(item: dict[str, Any], name: str) -> Any:
    if name in ("id", "collection"):
        return item.get(name)
    return (item.get("properties") or {}).get(name)


class _Desc:
    """Reverses the order of a sort key part."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def sort_key(sortby: Sequence[tuple[str, str]]) -> Any:
    """A key function for ``sorted``: missing values last, ties broken by collection and id."""
    fields = [(sort_property(name), direction) for name, direction in sortby] or [
        ("datetime", "desc")
    ]

    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name, direction in fields:
            value = _value(item, name)
            if value is None:
                parts.append((1, 0))  # missing values last, whatever the direction
            else:
                v = _comparable(value)
                parts.append((0, _Desc(v) if direction == "desc" else v))
        parts.append(str(item.get("collection", "")))
        parts.append(str(item.get("id", "")))
        return tuple(parts)

    return key


def _comparable(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def page(items: Iterable[dict[str, Any]], query: ItemQuery) -> ItemPage:
    """Sort matching items and cut out the requested page."""
    ordered = sorted(items, key=sort_key(query.sortby))
    return ItemPage(
        items=ordered[query.offset : query.offset + query.limit],
        matched=len(ordered) if query.count else None,
    )


def geometry_of(item: dict[str, Any]) -> BaseGeometry | None:
    """The item's footprint as a shapely geometry (None for items without one)."""
    geometry = item.get("geometry")
    return shape(geometry) if geometry else None

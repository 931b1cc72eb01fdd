"""STAC API search parameters (GET query string or POST body) → :class:`ItemQuery`.

Every malformed parameter is a ``RequestInvalid`` naming it; nothing here raises
anything else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import cql2
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from eostation.catalog import ItemQuery
from eostation.catalog.match import parse_instant
from eostation.errors import RequestInvalid

__all__ = ["MAX_LIMIT", "Fields", "parse_search"]

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
# The Query extension's operators as CQL2 operators.
_QUERY_OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

Fields = tuple[tuple[str, ...] | None, tuple[str, ...]]


def _bad(parameter: str, reason: str) -> RequestInvalid:
    return RequestInvalid(reason=f"{parameter}: {reason}")


def _split(value: Any, parameter: str) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _bad(parameter, "expected a comma-separated string or a list of strings.")


def _bbox(value: Any) -> BaseGeometry:
    parts = value.split(",") if isinstance(value, str) else value
    try:
        nums = [float(v) for v in parts]
    except (TypeError, ValueError):
        raise _bad("bbox", f"{value!r} is not a list of numbers.") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise _bad("bbox", "expected 4 (or 6) finite numbers: west,south,east,north.")
    w, s, e, n = nums
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise _bad("bbox", f"{nums} is outside -180..180 / -90..90 or south > north.")
    if w > e:
        raise _bad("bbox", f"{nums}: west > east (antimeridian crossing is not supported).")
    return (
        box(w, s, e, n)
        if (w < e and s < n)
        else box(w, s, e, n).buffer(0) or shape({"type": "Point", "coordinates": [w, s]})
    )


def _intersects(value: Any) -> BaseGeometry:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _bad("intersects", "not valid GeoJSON.") from None
    if not isinstance(value, Mapping) or "type" not in value:
        raise _bad("intersects", "expected a GeoJSON geometry object.")
    try:
        geometry = shape(value)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise _bad("intersects", f"not a valid GeoJSON geometry: {exc}") from None
    if geometry.is_empty or not geometry.is_valid:
        raise _bad("intersects", "the geometry is empty or invalid.")
    return geometry


def _datetime(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, str) or not value.strip():
        raise _bad("datetime", "expected an RFC 3339 instant or an interval 'start/end'.")
    if "/" not in value:
        instant = parse_instant(value)
        return instant, instant
    start, _, end = value.partition("/")
    lo = None if start in ("", "..") else parse_instant(start)
    hi = None if end in ("", "..") else parse_instant(end)
    if lo is None and hi is None:
        raise _bad("datetime", "'../..' leaves both ends open; give at least one.")
    if lo is not None and hi is not None and lo > hi:
        raise _bad("datetime", f"the start {start} is after the end {end}.")
    return lo, hi


def _limit(value: Any) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise _bad("limit", f"{value!r} is not an integer.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}.")
    return limit


def _sortby(value: Any) -> tuple[tuple[str, str], ...]:
    out = []
    if isinstance(value, str):
        for part in _split(value, "sortby"):
            direction = "desc" if part.startswith("-") else "asc"
            out.append((part.lstrip("+-").strip(), direction))
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("field"), str):
                raise _bad("sortby", "expected a list of {field, direction} objects.")
            direction = str(entry.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise _bad("sortby", f"direction must be 'asc' or 'desc', got {direction!r}.")
            out.append((entry["field"], direction))
    else:
        raise _bad("sortby", "expected '+field,-field' or a list of {field, direction}.")
    return tuple(out)


def _fields(value: Any) -> Fields:
    if isinstance(value, str):
        parts = _split(value, "fields")
        include = tuple(p.lstrip("+") for p in parts if not p.startswith("-"))
        exclude = tuple(p[1:] for p in parts if p.startswith("-"))
        return (include or None, exclude)
    if isinstance(value, Mapping):
        inc = value.get("include")
        exc = value.get("exclude") or []
        return (
            tuple(_split(inc, "fields.include")) if inc is not None else None,
            tuple(_split(exc, "fields.exclude")),
        )
    raise _bad("fields", "expected 'a,-b' or {include: [...], exclude: [...]}.")


def _filter(value: Any, lang: str | None) -> dict[str, Any]:
    lang = lang or ("cql2-text" if isinstance(value, str) else "cql2-json")
    try:
        if lang == "cql2-text":
            if not isinstance(value, str):
                raise _bad("filter", "filter-lang cql2-text needs a string.")
            expr = cql2.parse_text(value)
        elif lang == "cql2-json":
            expr = cql2.parse_json(value) if isinstance(value, str) else cql2.Expr(value)
        else:
            raise _bad("filter-lang", f"'{lang}' is not supported; use cql2-text or cql2-json.")
        expr.validate()
    except RequestInvalid:
        raise
    except Exception as exc:  # cql2 raises ParseError, ValidationError or a bare Exception
        first = str(exc).strip().splitlines()
        raise _bad("filter", f"not valid {lang}: {' '.join(first)[:300]}") from None
    result: dict[str, Any] = expr.to_json()
    return result


def _query(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _bad("query", "not valid JSON.") from None
    if not isinstance(value, Mapping):
        raise _bad("query", 'expected an object such as {"eo:cloud_cover": {"lt": 20}}.')
    args: list[dict[str, Any]] = []
    for name, ops in value.items():
        if not isinstance(ops, Mapping):
            raise _bad("query", f"'{name}' needs an object of operators, e.g. {{'eq': 1}}.")
        prop = {"property": name}
        for op, arg in ops.items():
            if op in _QUERY_OPS:
                args.append({"op": _QUERY_OPS[op], "args": [prop, arg]})
            elif op == "in" and isinstance(arg, list):
                args.append({"op": "in", "args": [prop, arg]})
            elif op in ("startsWith", "endsWith", "contains") and isinstance(arg, str):
                pattern = {"startsWith": f"{arg}%", "endsWith": f"%{arg}", "contains": f"%{arg}%"}
                args.append({"op": "like", "args": [prop, pattern[op]]})
            else:
                raise _bad("query", f"unsupported operator '{op}' for '{name}'.")
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def parse_search(params: Mapping[str, Any], user_id: str | None) -> tuple[ItemQuery, Fields]:
    """An :class:`ItemQuery` and the ``fields`` selection from search parameters."""
    known = {
        "bbox", "intersects", "datetime", "ids", "collections", "limit", "sortby", "fields",
        "filter", "filter-lang", "filter_lang", "query", "token", "filter-crs",
    }  # fmt: skip
    unknown = sorted(set(params) - known)
    if unknown:
        raise _bad(unknown[0], f"unknown search parameter; known: {', '.join(sorted(known))}.")
    if params.get("bbox") is not None and params.get("intersects") is not None:
        raise _bad("bbox", "give either bbox or intersects, not both.")
    region = None
    if params.get("bbox") is not None:
        region = _bbox(params["bbox"])
    elif params.get("intersects") is not None:
        region = _intersects(params["intersects"])
    filters = []
    if params.get("filter") is not None:
        lang = params.get("filter-lang") or params.get("filter_lang")
        filters.append(_filter(params["filter"], lang))
    if params.get("query") is not None and (q := _query(params["query"])) is not None:
        filters.append(q)
    query = ItemQuery(
        collections=tuple(_split(params["collections"], "collections"))
        if params.get("collections") is not None
        else None,
        ids=tuple(_split(params["ids"], "ids")) if params.get("ids") is not None else None,
        intersects=region,
        datetime=_datetime(params["datetime"]) if params.get("datetime") is not None else None,
        filter=_combine(filters),
        sortby=_sortby(params["sortby"]) if params.get("sortby") is not None else (),
        limit=_limit(params["limit"]) if params.get("limit") is not None else DEFAULT_LIMIT,
        offset=_token(params.get("token")),
        user_id=user_id,
    )
    fields = _fields(params["fields"]) if params.get("fields") is not None else (None, ())
    return query, fields


def _combine(filters: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not filters:
        return None
    return filters[0] if len(filters) == 1 else {"op": "and", "args": filters}


def _token(value: Any) -> int:
    """Paging tokens are ``next:<offset>``."""
    if value is None:
        return 0
    text = str(value)
    prefix, _, number = text.partition(":")
    if prefix != "next" or not number.isdigit():
        raise _bad("token", f"'{text}' is not a paging token of this server.")
    return int(number)

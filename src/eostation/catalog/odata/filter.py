"""``$filter`` → an items query: OData syntax parsed by ``odata-query``, CSC functions ours.

The grammar is odata-query's (a maintained SLY parser of the OData 4.01 ABNF); it
already reads CDSE's extensions as generic OData: ``OData.CSC.Intersects(area=…)`` is a
namespaced call with a named parameter, ``Attributes/OData.CSC.StringAttribute/any(…)``
a lambda over a type-cast path. This module gives them their meaning and turns the tree
into CQL2-JSON over STAC item properties (see :mod:`.names`). Top-level conjuncts that
the index can use directly are lifted out: collection names become ``collections``,
``Name eq`` becomes ``ids``, an ``Intersects`` becomes ``intersects``, and date comparisons also narrow ``datetime``
(a superset window; the exact comparison stays in the filter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import shapely
from odata_query import ast
from odata_query import exceptions as oq_errors
from odata_query.grammar import ODataLexer, ODataParser
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from eostation.errors import ODataQueryInvalid

from .entity import item_id_of
from .names import ATTRIBUTES, DATE_FIELDS, ODataAttribute, stac_collections

__all__ = ["NAME_PROPERTY", "ProductFilter", "parse_datetime", "parse_filter"]

#: The STAC property that holds a product's ``Name``.
NAME_PROPERTY: Final = "id"
_PARAM: Final = "$filter"
_OPS: Final[dict[type, str]] = {
    ast.Eq: "=",
    ast.NotEq: "<>",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_FLIP: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_OPERATOR_WORDS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "in"})
_LIKE_FUNCTIONS: Final = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}
# ``OData.CSC.Intersects(location=Footprint,area=…)`` (older CDSE examples): the location
# is always the footprint, and odata-query 0.10 trips over two named parameters.
_LOCATION_ARG = re.compile(r"location\s*=\s*Footprint\s*,\s*", re.IGNORECASE)
_SRID = re.compile(r"^\s*SRID\s*=\s*(\d+)\s*;\s*(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ProductFilter:
    """What a ``$filter`` asks for, in the items index's terms."""

    collections: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    intersects: BaseGeometry | None = None
    datetime: tuple[str | None, str | None] | None = None
    filter: dict[str, Any] | None = None


class _Invalid(Exception):
    """A semantic error, with the text of the offending part to locate it."""

    def __init__(self, reason: str, near: str) -> None:
        super().__init__(reason)
        self.reason, self.near = reason, near


def parse_filter(text: str) -> ProductFilter:
    """Translate a ``$filter`` value; raises :class:`ODataQueryInvalid` (422) naming where."""
    source = _LOCATION_ARG.sub("", text)
    if not source.strip():
        raise ODataQueryInvalid(_PARAM, "the filter is empty", text, 0)
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(source))
    except oq_errors.TokenizingException as exc:
        raise ODataQueryInvalid(
            _PARAM, f"unexpected character {exc.token.value[:1]!r}", text, exc.token.index
        ) from None
    except oq_errors.ParsingException as exc:
        if exc.eof or exc.token is None:
            raise ODataQueryInvalid(_PARAM, "the filter ends too early", text, len(text)) from None
        index = exc.token.index
        rest = source[index:]
        index += len(rest) - len(rest.lstrip())
        if not rest.strip() or rest.strip().lower() in _OPERATOR_WORDS:
            raise ODataQueryInvalid(_PARAM, "the filter ends too early", text, len(text)) from None
        raise ODataQueryInvalid(_PARAM, f"unexpected {rest.strip()[:20]!r}", text, index) from None
    except oq_errors.ODataException as exc:
        raise ODataQueryInvalid(_PARAM, str(exc) or type(exc).__name__, text, None) from None
    if tree is None:
        raise ODataQueryInvalid(_PARAM, "the filter is empty", text, 0)
    try:
        expr = _Translator().expr(tree)
    except _Invalid as exc:
        at = text.find(exc.near) if exc.near else -1
        raise ODataQueryInvalid(_PARAM, exc.reason, text, at if at >= 0 else None) from None
    return _lift(expr)


# -- translation ------------------------------------------------------------------------


def _path(node: ast._Node) -> str | None:
    """``ContentDate/Start`` for a property path (type-cast segments dropped), else None."""
    if isinstance(node, ast.Identifier):
        return node.name
    if isinstance(node, ast.Attribute):
        owner = _path(node.owner)
        return None if owner is None else f"{owner}/{node.attr}"
    return None


def _strip_casts(path: str) -> str:
    # ``att/OData.CSC.DoubleAttribute/Value`` → ``att/Value`` (the tag is advisory).
    return "/".join(p for p in path.split("/") if not p.endswith("Attribute"))


def _literal(node: ast._Node) -> Any:
    if isinstance(node, ast.String):
        return node.val
    if isinstance(node, ast.Integer):
        return int(node.val)
    if isinstance(node, ast.Float):
        return float(node.val)
    if isinstance(node, ast.Boolean):
        return node.val.lower() == "true"
    if isinstance(node, ast.DateTime | ast.Date):
        return {"timestamp": parse_datetime(node.val)}
    if isinstance(node, ast.Null):
        return None
    raise _Invalid(f"expected a value, got {type(node).__name__}", "")


def parse_datetime(value: str) -> str:
    """An OData date-time or date as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC."""
    try:
        if len(value) == 10:
            stamp = datetime.fromisoformat(value).replace(tzinfo=UTC)
        else:
            stamp = datetime.fromisoformat(value.replace("z", "Z"))
            stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    except ValueError:
        raise _Invalid(f"{value!r} is not a date-time", value) from None
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{stamp.microsecond:06d}" if stamp.microsecond else "") + "Z"


class _Translator:
    """OData tree → CQL2-JSON, with ``True``/``False`` for constant conditions."""

    def expr(self, node: ast._Node) -> Any:
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return _combine(op, [self.expr(node.left), self.expr(node.right)])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.expr(node.operand)
            return (not inner) if isinstance(inner, bool) else {"op": "not", "args": [inner]}
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.CollectionLambda):
            return self.attribute(node)
        if isinstance(node, ast.Identifier | ast.Attribute):
            raise _Invalid(f"'{_path(node)}' is a property, not a condition", _path(node) or "")
        raise _Invalid(f"{type(node).__name__} is not a condition", "")

    def compare(self, node: ast.Compare) -> Any:
        if isinstance(node.comparator, ast.In):
            raise _Invalid("'in' is not supported; combine 'eq' with 'or'", " in ")
        op = _OPS[type(node.comparator)]
        left, right = node.left, node.right
        if _path(left) is None and _path(right) is not None:
            left, right, op = right, left, _FLIP[op]
        field = _path(left)
        if field is None:
            raise _Invalid("a comparison needs a product property on one side", "")
        value = _literal(right)
        if field == "Name" or field == "Id":
            if not isinstance(value, str) or op not in ("=", "<>"):
                raise _Invalid(f"{field} compares with 'eq' or 'ne' to a quoted string", field)
            if field == "Id":
                raise _Invalid("look a product up by Id with /Products(<Id>)", field)
            return _name_condition(op, value)
        if field == "Collection/Name":
            if op != "=" or not isinstance(value, str):
                raise _Invalid("Collection/Name compares with 'eq' to a quoted name", field)
            return {
                "op": "in",
                "args": [{"property": "collection"}, list(stac_collections(value))],
            }
        if field in DATE_FIELDS:
            if not isinstance(value, dict):
                raise _Invalid(f"{field} compares to a date-time like 2020-01-01T00:00:00Z", field)
            return _date_condition(DATE_FIELDS[field], op, value)
        if field == "Online":
            if not isinstance(value, bool):
                raise _Invalid("Online compares to true or false", field)
            return value == (op == "=")  # every product here is online
        known = ", ".join(["Name", "Id", "Collection/Name", "Online", *DATE_FIELDS])
        raise _Invalid(f"unknown property '{field}'; filterable: {known}, Attributes", field)

    def call(self, node: ast.Call) -> Any:
        name = node.func.name
        if name.lower() == "intersects" and [n.lower() for n in node.func.namespace] in (
            ["odata", "csc"],
            ["geo"],
        ):
            return self.intersects(node)
        if name in _LIKE_FUNCTIONS and not node.func.namespace:
            field, arg = [*node.args, ast.Null(), ast.Null()][:2]
            if _path(field) != "Name" or not isinstance(arg, ast.String):
                raise _Invalid(f"{name}() takes the property Name and a quoted string", name)
            text = arg.val if name == "contains" else item_id_of(arg.val)
            escaped = re.sub(r"([\\%_])", r"\\\1", text)
            pattern = _LIKE_FUNCTIONS[name].format(escaped)
            return {"op": "like", "args": [{"property": NAME_PROPERTY}, pattern]}
        full = ".".join([*node.func.namespace, name])
        raise _Invalid(f"unknown function '{full}'", name)

    def intersects(self, node: ast.Call) -> Any:
        args = [a.param if isinstance(a, ast.NamedParam) else a for a in node.args]
        areas = [a for a in args if isinstance(a, ast.Geography)]
        if len(areas) != 1:
            raise _Invalid("Intersects needs area=geography'SRID=4326;POLYGON((…))'", "Intersects")
        geometry = parse_geography(areas[0].val)
        return {"op": "s_intersects", "args": [{"property": "geometry"}, mapping(geometry)]}

    def attribute(self, node: ast.CollectionLambda) -> Any:
        owner = _path(node.owner) or ""
        if owner.split("/")[0] != "Attributes" or node.lambda_ is None:
            raise _Invalid(f"'{owner}/any' is not supported; use Attributes/…/any(…)", owner)
        if not isinstance(node.operator, ast.Any):
            raise _Invalid("only 'any' is supported on Attributes", "/all(")
        var = node.lambda_.identifier.name
        body = node.lambda_.expression
        parts = [body.left, body.right] if isinstance(body, ast.BoolOp) else [body]
        if not (isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And)) or not all(
            isinstance(p, ast.Compare) for p in parts
        ):
            raise _Invalid(
                f"write any({var}:{var}/Name eq '<name>' and {var}/Value <op> <value>)", var + ":"
            )
        name: str | None = None
        value_cmp: tuple[str, Any] | None = None
        for part in parts:
            assert isinstance(part, ast.Compare)
            path = _strip_casts(_path(part.left) or "")
            if path == f"{var}/Name" and isinstance(part.comparator, ast.Eq):
                name = _literal(part.right)
            elif path == f"{var}/Value" and type(part.comparator) in _OPS:
                value_cmp = (_OPS[type(part.comparator)], _literal(part.right))
        if not isinstance(name, str) or value_cmp is None:
            raise _Invalid(f"the lambda needs {var}/Name eq '<name>' and {var}/Value", var + ":")
        op, value = value_cmp
        return _attribute_condition(ATTRIBUTES.get(name), name, op, value)


def _date_condition(prop: str, op: str, value: dict[str, str]) -> Any:
    """``prop op value``, or ``datetime op value`` for items without ``prop``.

    Items of files collections and job results carry only ``datetime``; the product
    entity falls back to it too, so the filter agrees with what the product shows.
    """
    exact = {"op": op, "args": [{"property": prop}, value]}
    fallback = {
        "op": "and",
        "args": [
            {"op": "isNull", "args": [{"property": prop}]},
            {"op": op, "args": [{"property": "datetime"}, value]},
        ],
    }
    return {"op": "or", "args": [exact, fallback]}


def _date_bound(term: Any) -> tuple[str, str, str] | None:
    """``(property, op, timestamp)`` of a condition made by :func:`_date_condition`."""
    if not (isinstance(term, dict) and term.get("op") == "or" and len(term["args"]) == 2):
        return None
    exact = term["args"][0]
    if term != _date_condition(exact["args"][0].get("property", ""), exact["op"], exact["args"][1]):
        return None
    return exact["args"][0]["property"], exact["op"], exact["args"][1]["timestamp"]


def _name_condition(op: str, value: str) -> Any:
    # Names carry the format suffix (.SAFE, .SEN3, .nc) that item ids lack.
    ids = list(dict.fromkeys([value, item_id_of(value)]))
    match = (
        {"op": "=", "args": [{"property": NAME_PROPERTY}, ids[0]]}
        if len(ids) == 1
        else {"op": "in", "args": [{"property": NAME_PROPERTY}, ids]}
    )
    return match if op == "=" else {"op": "not", "args": [match]}


def _attribute_condition(attr: ODataAttribute | None, name: str, op: str, value: Any) -> Any:
    if attr is None:
        # CDSE answers an attribute that no product has with no match, not an error.
        return False
    if attr.value_type in ("Integer", "Double") and isinstance(value, str):
        try:  # a mismatched type tag (StringAttribute on a number), as eodag sends
            value = int(value) if attr.value_type == "Integer" else float(value)
        except ValueError:
            raise _Invalid(f"{name} is a number, not {value!r}", name) from None
    if attr.value_type == "String" and isinstance(value, int | float):
        value = str(value)
    if attr.suffix_match and op in ("=", "<>") and isinstance(value, str):
        like = {"op": "like", "args": [{"property": attr.prop}, "%" + attr.to_stac(value)]}
        return like if op == "=" else {"op": "not", "args": [like]}
    if attr.array:
        if op != "=":
            raise _Invalid(f"{name} compares with 'eq' only", name)
        return {"op": "a_contains", "args": [{"property": attr.prop}, attr.to_stac(value)]}
    return {"op": op, "args": [{"property": attr.prop}, attr.to_stac(value)]}


def parse_geography(text: str) -> BaseGeometry:
    """``SRID=4326;POLYGON((…))`` (or plain WKT) as a shapely geometry in EPSG:4326."""
    match = _SRID.match(text)
    srid, wkt = (match.group(1), match.group(2)) if match else ("4326", text)
    if srid != "4326":
        raise _Invalid(f"only SRID=4326 is supported, not {srid}", f"SRID={srid}")
    try:
        geometry = shapely.from_wkt(wkt)
    except shapely.errors.ShapelyError as exc:
        raise _Invalid(f"the geography is not valid WKT: {exc}", wkt[:20]) from None
    if geometry is None or geometry.is_empty:
        raise _Invalid("the geography is empty", wkt[:20])
    return geometry


def _combine(op: str, args: list[Any]) -> Any:
    """``and``/``or`` of CQL2 args, flattened, with constant ``True``/``False`` folded in."""
    absorbing, neutral = (False, True) if op == "and" else (True, False)
    flat: list[Any] = []
    for arg in args:
        if arg is absorbing:
            return absorbing
        if arg is neutral:
            continue
        flat.extend(arg["args"] if isinstance(arg, dict) and arg.get("op") == op else [arg])
    if not flat:
        return neutral
    return flat[0] if len(flat) == 1 else {"op": op, "args": flat}


# -- lifting ------------------------------------------------------------------------------


def _lift(expr: Any) -> ProductFilter:
    if expr is True:
        return ProductFilter()
    if expr is False:
        return ProductFilter(collections=(), filter=None)
    conjuncts = expr["args"] if expr.get("op") == "and" else [expr]
    collections: set[str] | None = None
    ids: set[str] | None = None
    intersects: BaseGeometry | None = None
    start: str | None = None
    end: str | None = None
    rest: list[Any] = []
    for term in conjuncts:
        op, args = term.get("op"), term.get("args", [])
        prop = args[0].get("property") if args and isinstance(args[0], dict) else None
        if op == "in" and prop == "collection":
            named = set(args[1])
            collections = named if collections is None else collections & named
            continue
        if prop == NAME_PROPERTY and op in ("=", "in"):
            names = set(args[1]) if op == "in" else {args[1]}
            ids = names if ids is None else ids & names
            continue
        if op == "s_intersects" and intersects is None:
            intersects = shapely.geometry.shape(args[1])
            continue
        bound = _date_bound(term)
        if bound is not None and bound[0] in ("start_datetime", "end_datetime"):
            _, op, stamp = bound
            if op in (">", ">=", "="):
                start = max(start or stamp, stamp)
            if op in ("<", "<=", "="):
                end = min(end or stamp, stamp)
        rest.append(term)
    window = (start, end) if start or end else None
    return ProductFilter(
        collections=None if collections is None else tuple(sorted(collections)),
        ids=None if ids is None else tuple(sorted(ids)),
        intersects=intersects,
        datetime=window,
        filter=_combine("and", rest) if rest else None,
    )

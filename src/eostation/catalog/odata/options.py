"""The query options of ``GET /Products``: ``$filter``, ``$top``, ``$skip``, ``$count``,
``$orderby``, ``$expand`` and ``$select``, validated as CDSE's catalogue does (422 naming
the option)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from eostation.errors import ODataQueryInvalid

from .filter import ProductFilter, parse_filter
from .names import DATE_FIELDS

__all__ = [
    "DEFAULT_TOP",
    "EXPANDABLE",
    "MAX_SKIP",
    "MAX_TOP",
    "PRODUCT_FIELDS",
    "ProductQuery",
    "parse_options",
]

DEFAULT_TOP: Final = 20
MAX_TOP: Final = 1000
MAX_SKIP: Final = 10_000
EXPANDABLE: Final = ("Attributes", "Assets", "Locations")
#: Fields of a product entity, in CDSE's order (``$select`` picks among them).
PRODUCT_FIELDS: Final = (
    "@odata.mediaContentType",
    "Id",
    "Name",
    "ContentType",
    "ContentLength",
    "OriginDate",
    "PublicationDate",
    "ModificationDate",
    "Online",
    "EvictionDate",
    "S3Path",
    "Checksum",
    "ContentDate",
    "Footprint",
    "GeoFootprint",
)
_SORTABLE: Final = {k: v for k, v in DATE_FIELDS.items() if k != "OriginDate"}
_IGNORED: Final = frozenset({"$format"})


@dataclass(frozen=True)
class ProductQuery:
    """A validated product search."""

    filter: ProductFilter = field(default_factory=ProductFilter)
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    #: (STAC property, "asc"|"desc"); the item id always breaks ties.
    orderby: tuple[tuple[str, str], ...] = ()
    expand: frozenset[str] = frozenset()
    select: tuple[str, ...] | None = None


def _integer(name: str, raw: str, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ODataQueryInvalid(name, "must be a whole number", raw) from None
    if not 0 <= value <= high:
        raise ODataQueryInvalid(name, f"must be between 0 and {high}", raw)
    return value


def _single(name: str, values: list[str]) -> str:
    if len(values) > 1:
        raise ODataQueryInvalid(name, "given more than once", values)
    return values[0]


def _orderby(raw: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for term in raw.split(","):
        parts = term.split()
        if not parts or len(parts) > 2:
            raise ODataQueryInvalid(
                "$orderby", f"'{term.strip()}' is not '<field> [asc|desc]'", raw
            )
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise ODataQueryInvalid("$orderby", f"direction '{parts[1]}' is not asc or desc", raw)
        if parts[0] == "Id":
            out.append(("id", direction))
        elif parts[0] in _SORTABLE:
            out.append((_SORTABLE[parts[0]], direction))
        else:
            raise ODataQueryInvalid(
                "$orderby", f"cannot sort by '{parts[0]}'; use {', '.join([*_SORTABLE, 'Id'])}", raw
            )
    return tuple(out)


def _names(name: str, values: Iterable[str], allowed: Iterable[str]) -> list[str]:
    known = list(allowed)
    out: list[str] = []
    for value in values:
        for item in (v.strip() for v in value.split(",")):
            if item not in known:
                raise ODataQueryInvalid(name, f"'{item}' is not one of {', '.join(known)}", value)
            out.append(item)
    return out


def parse_options(params: Iterable[tuple[str, str]]) -> ProductQuery:
    """Validate the query options (``params`` as repeated key/value pairs)."""
    given: dict[str, list[str]] = {}
    for key, value in params:
        given.setdefault(key, []).append(value)
    unknown = [k for k in given if k.startswith("$") and k not in _OPTIONS and k not in _IGNORED]
    if unknown:
        raise ODataQueryInvalid(unknown[0], f"unknown option; known: {', '.join(_OPTIONS)}")
    top, skip, count = DEFAULT_TOP, 0, False
    flt = ProductFilter()
    orderby: tuple[tuple[str, str], ...] = ()
    if "$filter" in given:
        flt = parse_filter(_single("$filter", given["$filter"]))
    if "$top" in given:
        top = _integer("$top", _single("$top", given["$top"]), MAX_TOP)
    if "$skip" in given:
        skip = _integer("$skip", _single("$skip", given["$skip"]), MAX_SKIP)
    if "$count" in given:
        raw = _single("$count", given["$count"])
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ODataQueryInvalid("$count", "must be true or false", raw)
        count = raw.lower() in ("true", "1")
    if "$orderby" in given:
        orderby = _orderby(_single("$orderby", given["$orderby"]))
    expand = frozenset(_names("$expand", given.get("$expand", []), EXPANDABLE))
    select = None
    if "$select" in given:
        select = tuple(_names("$select", given["$select"], [*PRODUCT_FIELDS, *EXPANDABLE]))
    return ProductQuery(flt, top, skip, count, orderby, expand, select)


_OPTIONS: Final = ("$filter", "$top", "$skip", "$count", "$orderby", "$expand", "$select")

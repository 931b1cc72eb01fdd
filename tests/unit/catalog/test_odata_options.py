"""Query options of ``GET /Products``: defaults, limits, and 422 errors naming the option."""

from __future__ import annotations

import pytest

from eostation.catalog.odata.options import ProductQuery, parse_options
from eostation.errors import ODataQueryInvalid


def test_defaults() -> None:
    assert parse_options([]) == ProductQuery(top=20, skip=0, count=False)


def test_all_options() -> None:
    got = parse_options(
        [
            ("$filter", "Collection/Name eq 'SENTINEL-2'"),
            ("$top", "1000"),
            ("$skip", "10000"),
            ("$count", "True"),
            ("$orderby", "ContentDate/Start desc, PublicationDate,Id asc"),
            ("$expand", "Attributes"),
            ("$expand", "Assets,Locations"),
            ("$select", "Id,Name"),
            ("token", "ignored: not an option"),
        ]
    )
    assert (got.top, got.skip, got.count) == (1000, 10000, True)
    assert got.filter.collections == ("SENTINEL2_L2A",)
    assert got.orderby == (("start_datetime", "desc"), ("published", "asc"), ("id", "asc"))
    assert got.expand == {"Attributes", "Assets", "Locations"}
    assert got.select == ("Id", "Name")


@pytest.mark.parametrize("raw", ["true", "1", "True"])
def test_count_spellings(raw: str) -> None:
    assert parse_options([("$count", raw)]).count is True


@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ([("$top", "1001")], "$top", "between 0 and 1000"),
        ([("$top", "-1")], "$top", "between 0 and 1000"),
        ([("$top", "ten")], "$top", "whole number"),
        ([("$skip", "10001")], "$skip", "between 0 and 10000"),
        ([("$count", "yes")], "$count", "true or false"),
        ([("$orderby", "Name asc")], "$orderby", "cannot sort by 'Name'"),
        ([("$orderby", "ContentDate/Start up")], "$orderby", "not asc or desc"),
        ([("$expand", "Nodes")], "$expand", "'Nodes' is not one of"),
        ([("$select", "Foo")], "$select", "'Foo' is not one of"),
        ([("$top", "1"), ("$top", "2")], "$top", "more than once"),
        ([("$search", "x")], "$search", "unknown option"),
        ([("$filter", "Name eq")], "$filter", "ends too early"),
    ],
)
def test_bad_options(params: list[tuple[str, str]], param: str, words: str) -> None:
    with pytest.raises(ODataQueryInvalid) as info:
        parse_options(params)
    assert info.value.param == param and words in info.value.reason
    assert info.value.status == 422

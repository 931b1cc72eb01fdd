"""compile_filter: CQL2-JSON checked against the schema, valid texts remembered."""

from __future__ import annotations

import pytest

from eostation.catalog.match import compile_filter, expr_matches
from eostation.errors import RequestInvalid

ITEM = {"id": "a", "collection": "c", "properties": {"eo:cloud_cover": 12.0}}


def test_the_same_expression_in_another_key_order_compiles_to_the_same_test() -> None:
    one = {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]}
    other = {"args": [{"property": "eo:cloud_cover"}, 20], "op": "<"}
    for expression in (one, other, one):
        expr = compile_filter(expression)
        assert expr is not None and expr_matches(expr, ITEM) is True
    high = compile_filter({"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]})
    assert high is not None and expr_matches(high, ITEM) is False


def test_an_invalid_expression_is_refused_every_time() -> None:
    # Only valid texts are remembered: a refusal is never turned into a pass.
    for _ in range(2):
        with pytest.raises(RequestInvalid, match="filter: not a valid CQL2 expression"):
            compile_filter({"op": "=", "args": [1]})
    assert compile_filter(None) is None

"""date_shift, date_between and date_difference read run-time values as strictly as literals.

A literal is checked against the process schema before the graph runs; a value made by
another node is not, so the process itself must refuse what RFC 3339 does not allow
(pandas would read "01/06/2022" as 6 January).
"""

from __future__ import annotations

from typing import Any

import pytest

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import ProcessParameterInvalid

REGISTRY = default_registry()


def _run(process_id: str, made: str, parameter: str, **arguments: Any) -> Any:
    """Run ``process_id`` with ``parameter`` set to ``made``, produced at run time by a node."""
    graph = {
        "process_graph": {
            # text_concat of one text returns it unchanged, but past the schema check.
            "t": {"process_id": "text_concat", "arguments": {"data": [made]}},
            "p": {
                "process_id": process_id,
                "arguments": {**arguments, parameter: {"from_node": "t"}},
                "result": True,
            },
        }
    }
    return evaluate(graph, EvalContext(REGISTRY, EngineLimits()))


SHIFT = {"value": 1, "unit": "day"}
BETWEEN = {"x": "2022-06-02", "min": "2022-06-01", "max": "2022-06-03"}
DIFFERENCE = {"date1": "2022-06-01", "date2": "2022-06-02"}


@pytest.mark.parametrize("bad", ["01/06/2022", "2022-6-1", "June 1, 2022", "2022-06-31"])
@pytest.mark.parametrize(
    ("process_id", "parameter", "others"),
    [
        ("date_shift", "date", SHIFT),
        ("date_between", "x", BETWEEN),
        ("date_between", "min", BETWEEN),
        ("date_between", "max", BETWEEN),
        ("date_difference", "date2", DIFFERENCE),
    ],
)
def test_loose_run_time_dates_are_refused(
    process_id: str, parameter: str, others: dict[str, Any], bad: str
) -> None:
    arguments = {k: v for k, v in others.items() if k != parameter}
    with pytest.raises(ProcessParameterInvalid) as err:
        _run(process_id, bad, parameter, **arguments)
    message = str(err.value)
    assert process_id in message and parameter in message
    assert f"'{bad}' is not an RFC 3339 date" in message


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        ("2022-06-01", "2022-06-02"),
        ("2022-06-01T10:00:00Z", "2022-06-02T10:00:00Z"),
        ("2022-06-01T10:00:00", "2022-06-02T10:00:00Z"),  # no offset: UTC, as load_collection
        ("2022-06-01T10:00:00+02:00", "2022-06-02T10:00:00+02:00"),
    ],
)
def test_valid_run_time_dates_still_shift(made: str, expected: str) -> None:
    assert _run("date_shift", made, "date", **SHIFT) == expected


def test_valid_run_time_dates_still_compare() -> None:
    args = {k: v for k, v in BETWEEN.items() if k != "x"}
    assert _run("date_between", "2022-06-02T23:59:59Z", "x", **args) is True
    assert _run("date_between", "2022-06-03T00:00:01Z", "x", **args) is False
    assert _run("date_between", "2022-06-03T01:00:00+02:00", "x", **args) is True

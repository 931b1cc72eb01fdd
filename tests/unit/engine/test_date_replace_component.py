"""date_replace_component: replaced components, clipping and formats, worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()


def _run(**arguments: Any) -> Any:
    graph = {
        "process_graph": {
            "d": {"process_id": "date_replace_component", "arguments": arguments, "result": True}
        }
    }
    return evaluate(graph, EvalContext(REGISTRY, EngineLimits()))


@pytest.mark.parametrize(
    ("date", "value", "component", "expected"),
    [
        ("2023-05-20", 15, "day", "2023-05-15"),  # the middle of the month (CDSE's use)
        ("2023-02-10", 31, "day", "2023-02-28"),  # clipped to the month's last day
        ("2024-02-10", 40, "day", "2024-02-29"),  # leap year
        ("2023-05-20", -40, "day", "2023-05-01"),  # clipped to the first
        ("2023-01-31", 2, "month", "2023-02-28"),  # the day no longer exists
        ("2023-01-31", 13, "month", "2023-12-31"),  # month clipped to 12
        ("2024-02-29", 2023, "year", "2023-02-28"),
        ("2023-05-20T10:20:30Z", 27, "hour", "2023-05-20T23:20:30Z"),
        ("2023-05-20T10:20:30Z", -5, "minute", "2023-05-20T10:00:30Z"),
        ("2023-05-20T10:20:30Z", 7, "second", "2023-05-20T10:20:07Z"),
        ("2023-05-20T10:20:30+02:00", 1, "day", "2023-05-01T10:20:30+02:00"),
        ("2023-05-20", 3, "hour", "2023-05-20"),  # a date has no hour to show
    ],
)
def test_replaces_and_clips(date: str, value: int, component: str, expected: str) -> None:
    assert _run(date=date, value=value, component=component) == expected


def test_null_date_gives_null() -> None:
    assert _run(date=None, value=1, component="day") is None


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"date": "2023-05-20", "value": 1, "component": "fortnight"}, "component"),
        ({"date": "not a date", "value": 1, "component": "day"}, "date"),
    ],
)
def test_bad_input_is_a_clear_error(arguments: dict[str, Any], needle: str) -> None:
    with pytest.raises(OpenEOError) as err:
        _run(**arguments)
    assert err.value.status == 400 and needle in err.value.message


def test_vectorised_over_the_labels_of_a_temporal_dimension() -> None:
    # In a callback over ``t`` the ``label`` parameter holds every date at once.
    import numpy as np
    import xarray as xr

    labels = xr.DataArray(
        np.array(["2022-06-01", "2023-01-31T10:00", "NaT"], dtype="datetime64[ns]"), dims=("t",)
    )
    graph = {
        "process_graph": {
            "d": {
                "process_id": "date_replace_component",
                "arguments": {
                    "date": {"from_parameter": "label"},
                    "value": 2,
                    "component": "month",
                },
                "result": True,
            }
        }
    }
    out = evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"label": labels})
    expected = np.array(["2022-02-01", "2023-02-28T10:00", "NaT"], dtype="datetime64[ns]")
    np.testing.assert_array_equal(out.values, expected)
    assert out.dims == ("t",)

"""aggregate_temporal and aggregate_temporal_period: labels and values by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

LIMITS = EngineLimits()

REGISTRY = default_registry()


def _cube(dates: list[str], chunk: bool = False) -> xr.DataArray:
    """(t, y=1, x=2): value = 10 * index + x, NaN at index 1, x 1."""
    values = np.arange(len(dates), dtype=float)[:, None, None] * 10 + np.array([[0.0, 1.0]])
    values[1, 0, 1] = np.nan if len(dates) > 1 else values[1 % len(dates), 0, 1]
    cube = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={"t": np.array(dates, dtype="datetime64[ns]"), "y": [5.0], "x": [0.5, 1.5]},
    )
    return cube.chunk({"t": 2}) if chunk else cube


def _reducer(name: str) -> dict[str, Any]:
    return {
        "process_graph": {
            "r": {
                "process_id": name,
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }


def _run(process_id: str, cube: xr.DataArray, **arguments: Any) -> xr.DataArray:
    graph = {
        "process_graph": {
            "n": {
                "process_id": process_id,
                "arguments": {"data": {"from_parameter": "cube"}, **arguments},
                "result": True,
            }
        }
    }
    out = evaluate(graph, EvalContext(REGISTRY, LIMITS), {"cube": cube})
    assert isinstance(out, xr.DataArray)
    return out


PERIOD_CASES = [
    (
        "hour",
        ["2020-06-01T00:10", "2020-06-01T00:50", "2020-06-01T02:00"],
        ["2020-06-01-00", "2020-06-01-01", "2020-06-01-02"],
    ),
    ("day", ["2020-01-01", "2020-01-01T12:00", "2020-01-03", "2020-12-31"], None),
    (
        "week",
        ["2022-12-06T12:00", "2022-12-07", "2022-12-12", "2023-01-01"],
        ["2022-49", "2022-50", "2022-51", "2022-52"],
    ),
    (
        "dekad",
        ["2024-01-28", "2024-01-31", "2024-02-01", "2024-02-29"],
        ["2024-03", "2024-04", "2024-05", "2024-06"],
    ),
    (
        "month",
        ["2024-01-28", "2024-01-31", "2024-02-01", "2024-04-15"],
        ["2024-01", "2024-02", "2024-03", "2024-04"],
    ),
    (
        "season",
        ["2023-12-28", "2024-02-29", "2024-03-01", "2024-11-30"],
        ["2023-djf", "2024-mam", "2024-jja", "2024-son"],
    ),
    (
        "tropical-season",
        ["2023-11-01", "2024-04-30", "2024-05-01", "2024-11-30"],
        ["2023-ndjfma", "2024-mjjaso", "2024-ndjfma"],
    ),
    ("year", ["2020-01-01", "2020-06-01", "2022-12-31"], ["2020", "2021", "2022"]),
    ("decade", ["2020-01-01", "2029-12-31T23:00", "2030-01-01"], ["2020", "2030"]),
    ("decade-ad", ["2020-01-01", "2021-01-01", "2031-01-01"], ["2011", "2021", "2031"]),
]


@pytest.mark.parametrize(("period", "dates", "labels"), PERIOD_CASES)
def test_period_labels_are_complete(
    period: str, dates: list[str], labels: list[str] | None
) -> None:
    out = _run("aggregate_temporal_period", _cube(dates), period=period, reducer=_reducer("mean"))
    got = out.t.values.tolist()
    if labels is None:  # day: complete for 2020, a leap year
        assert (
            len(got) == 366
            and got[0] == "2020-001"
            and got[2] == "2020-003"
            and got[-1] == "2020-366"
        )
    else:
        assert got == labels


def test_month_values_by_hand() -> None:
    cube = _cube(["2024-01-28", "2024-01-31", "2024-02-01", "2024-04-15"], chunk=True)
    out = _run("aggregate_temporal_period", cube, period="month", reducer=_reducer("mean"))
    assert out.dims == ("t", "y", "x")
    values = out.values[:, 0, :]
    # January: (0, 10) and (1, NaN); February: 20, 21; March: nothing; April: 30, 31.
    np.testing.assert_array_equal(
        values, [[5.0, 1.0], [20.0, 21.0], [np.nan, np.nan], [30.0, 31.0]]
    )
    count = _run("aggregate_temporal_period", cube, period="month", reducer=_reducer("count"))
    np.testing.assert_array_equal(count.values[:, 0, 1], [1, 1, np.nan, 1])


def test_season_spans_the_year_boundary() -> None:
    cube = _cube(["2023-12-28", "2024-02-29", "2024-03-01"])
    out = _run("aggregate_temporal_period", cube, period="season", reducer=_reducer("max"))
    assert out.t.values.tolist() == ["2023-djf", "2024-mam"]
    np.testing.assert_array_equal(out.values[:, 0, :], [[10.0, 1.0], [20.0, 21.0]])


def test_intervals_with_labels_overlaps_and_open_ends() -> None:
    cube = _cube(["2020-01-01", "2020-01-03", "2020-01-05", "2020-01-07", "2020-01-09"])
    out = _run(
        "aggregate_temporal",
        cube,
        intervals=[[None, "2020-01-04"], ["2020-01-04", None], ["2020-01-01", "2020-01-10"]],
        labels=["before", "after", "all"],
        reducer=_reducer("sum"),
    )
    assert out.t.values.tolist() == ["before", "after", "all"]
    np.testing.assert_array_equal(out.values[:, 0, 0], [10.0, 90.0, 100.0])
    np.testing.assert_array_equal(out.values[:, 0, 1], [1.0, 93.0, 94.0])


def test_interval_starts_become_dated_labels() -> None:
    cube = _cube(["2020-01-01", "2020-01-03", "2020-01-08"])
    out = _run(
        "aggregate_temporal",
        cube,
        intervals=[["2020-01-01", "2020-01-07"], ["2020-01-07T00:00:00Z", "2020-01-14T00:00:00Z"]],
        reducer=_reducer("mean"),
    )
    assert (
        out.t.values.tolist()
        == np.array(["2020-01-01", "2020-01-07"], dtype="datetime64[ns]").tolist()
    )
    np.testing.assert_array_equal(out.values[:, 0, 0], [5.0, 20.0])


def test_time_of_day_intervals_wrap_midnight() -> None:
    cube = _cube(["2020-01-01T05:00", "2020-01-01T07:00", "2020-01-01T19:00", "2020-01-02T03:00"])
    out = _run(
        "aggregate_temporal",
        cube,
        intervals=[["06:00:00", "18:00:00"], ["18:00:00", "06:00:00"]],
        reducer=_reducer("mean"),
    )
    assert out.t.values.tolist() == ["06:00:00", "18:00:00"]
    np.testing.assert_array_equal(out.values[:, 0, 0], [10.0, (0 + 20 + 30) / 3])


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"intervals": [["2020-01-02", "2020-01-01"]]}, "TemporalExtentEmpty"),
        (
            {"intervals": [["2020-01-01", "2020-01-02"], ["2020-01-01", "2020-01-03"]]},
            "DistinctDimensionLabelsRequired",
        ),
        (
            {"intervals": [[None, "2020-01-02"], ["2020-01-02", "2020-01-03"]]},
            "DistinctDimensionLabelsRequired",
        ),
        (
            {"intervals": [["2020-01-01", "2020-01-02"]], "dimension": "time"},
            "DimensionNotAvailable",
        ),
    ],
)
def test_interval_errors(arguments: dict[str, Any], code: str) -> None:
    with pytest.raises(OpenEOError) as info:
        _run(
            "aggregate_temporal",
            _cube(["2020-01-01", "2020-01-02"]),
            reducer=_reducer("mean"),
            **arguments,
        )
    assert code in (info.value.code, info.value.params.get("exception"))


def test_two_temporal_dimensions_need_a_name() -> None:
    cube = _cube(["2020-01-01", "2020-01-02"]).expand_dims(
        t2=np.array(["2021-01-01"], dtype="datetime64[ns]")
    )
    with pytest.raises(OpenEOError) as info:
        _run("aggregate_temporal_period", cube, period="day", reducer=_reducer("mean"))
    assert info.value.params.get("exception") == "TooManyDimensions"
    out = _run(
        "aggregate_temporal_period", cube, period="year", dimension="t2", reducer=_reducer("mean")
    )
    assert out.t2.values.tolist() == ["2021"]

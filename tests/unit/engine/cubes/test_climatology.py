"""climatological_normal and anomaly: normals and anomalies computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.cube import dimension_type, with_dimension_type
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError
from tests.graphs import mean_reducer

LIMITS = EngineLimits()

REGISTRY = default_registry()


def _monthly(first: str, periods: int, chunk: bool = False) -> xr.DataArray:
    """Mid-month values: 100 * year offset + month at x0, the same + 0.5 at x1."""
    dates = pd.date_range(first, periods=periods, freq="MS") + pd.Timedelta(days=14)
    base = np.asarray([(d.year - 2000) * 100 + d.month for d in dates], dtype=float)
    values = base[:, None, None] + np.array([[0.0, 0.5]])
    cube = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={"t": dates.values, "y": [5.0], "x": [0.5, 1.5]},
    )
    return cube.chunk({"t": 6}) if chunk else cube


def _call(process_id: str, **arguments: Any) -> Any:
    params = {k: v for k, v in arguments.items() if isinstance(v, xr.DataArray)}
    inline = {k: ({"from_parameter": k} if k in params else v) for k, v in arguments.items()}
    graph = {
        "process_graph": {"n": {"process_id": process_id, "arguments": inline, "result": True}}
    }
    return evaluate(graph, EvalContext(REGISTRY, LIMITS), params)


@pytest.mark.parametrize("chunk", [False, True])
def test_monthly_normals_average_each_month_over_the_years(chunk: bool) -> None:
    cube = _monthly("1999-01-01", 12 * 5, chunk)  # 1999 … 2003
    out = _call("climatological_normal", data=cube, period="month", climatology_period=[2000, 2002])
    assert out.dims == ("t", "y", "x")
    assert list(out.t.values) == [f"{m:02d}" for m in range(1, 13)]
    assert dimension_type(out, "t") == "temporal"
    # month m over 2000, 2001, 2002: mean of m, 100 + m, 200 + m
    expected = np.arange(1, 13) + 100.0
    np.testing.assert_allclose(out.isel(y=0, x=0).values, expected)
    np.testing.assert_allclose(out.isel(y=0, x=1).values, expected + 0.5)


def test_nodata_is_skipped_and_float32_stays_float32() -> None:
    cube = _monthly("2000-01-01", 24).astype(np.float32)
    cube[0, 0, 0] = np.nan  # January 2000 at x0
    out = _call("climatological_normal", data=cube, period="month", climatology_period=[2000, 2001])
    assert out.dtype == np.float32
    assert float(out.isel(t=0, y=0, x=0)) == 101.0  # January 2001 only
    assert float(out.isel(t=1, y=0, x=0)) == 52.0  # (2 + 102) / 2


def test_seasons_take_the_december_before_only_when_present() -> None:
    with_december = _monthly("1999-12-01", 12 * 2 + 1)  # Dec 1999 … Dec 2001
    out = _call(
        "climatological_normal",
        data=with_december,
        period="season",
        climatology_period=[2000, 2001],
    )
    assert list(out.t.values) == ["djf", "mam", "jja", "son"]
    # winters Dec 1999–Feb 2000 and Dec 2000–Feb 2001; Dec 2001 starts an incomplete one
    djf = np.mean([-88.0, 1, 2, 12, 101, 102])
    son = np.mean([9.0, 10, 11, 109, 110, 111])
    np.testing.assert_allclose(
        out.isel(y=0, x=0).values,
        [djf, np.mean([3.0, 4, 5, 103, 104, 105]), np.mean([6.0, 7, 8, 106, 107, 108]), son],
    )
    without = _monthly("2000-01-01", 24)
    first_winter_dropped = _call(
        "climatological_normal", data=without, period="season", climatology_period=[2000, 2001]
    )
    # Jan/Feb 2000 belong to the winter that began in December 1999, which is missing
    assert float(first_winter_dropped.isel(t=0, y=0, x=0)) == pytest.approx(
        np.mean([12.0, 101, 102])
    )


def test_climatology_period_and_day_labels() -> None:
    cube = _monthly("2000-01-01", 24)
    whole = _call(
        "climatological_normal",
        data=cube,
        period="climatology-period",
        climatology_period=[2000, 2001],
    )
    assert list(whole.t.values) == ["climatology-period"]
    assert float(whole.isel(t=0, y=0, x=0)) == pytest.approx(np.mean(np.r_[1:13, 101:113]))
    days = _call("climatological_normal", data=cube, period="day", climatology_period=[2000, 2001])
    assert days.sizes["t"] == 365 and days.t.values[0] == "001" and days.t.values[-1] == "365"
    # 15 January is day 015 in both years: mean of 1 and 101
    assert float(days.sel(t="015").isel(y=0, x=0)) == 51.0
    assert np.isnan(float(days.sel(t="016").isel(y=0, x=0)))


def test_normal_needs_data_in_the_first_and_last_year() -> None:
    with pytest.raises(OpenEOError, match="must cover 1981–2010"):
        _call("climatological_normal", data=_monthly("2000-01-01", 24), period="month")


def test_anomaly_of_aggregated_months_against_their_normals() -> None:
    cube = _monthly("2000-01-01", 36)
    normals = _call(
        "climatological_normal", data=cube, period="month", climatology_period=[2000, 2002]
    )
    monthly = _call(
        "aggregate_temporal_period",
        data=cube,
        period="month",
        reducer=mean_reducer(),
    )
    assert monthly.t.values[0] == "2000-01"
    out = _call("anomaly", data=monthly, normals=normals, period="month")
    assert out.dims == monthly.dims and list(out.t.values) == list(monthly.t.values)
    # value - normal: 2000 → -100, 2001 → 0, 2002 → +100, for every month and pixel
    expected = np.repeat([-100.0, 0.0, 100.0], 12)
    np.testing.assert_allclose(out.isel(y=0, x=0).values, expected)
    np.testing.assert_allclose(out.isel(y=0, x=1).values, expected)


def test_anomaly_of_dated_labels_and_single_period_normals() -> None:
    cube = _monthly("2000-12-01", 3)  # Dec 2000, Jan 2001, Feb 2001
    normals = xr.DataArray(
        np.array([[[10.0, 20.0]], [[30.0, 40.0]]]),
        dims=("time", "y", "x"),
        coords={"time": ["djf", "jja"], "y": [5.0], "x": [0.5, 1.5]},
    )
    normals = with_dimension_type(normals, "time", "temporal")
    out = _call("anomaly", data=cube, normals=normals, period="season")
    np.testing.assert_allclose(out.isel(y=0).values, [[2.0, -7.5], [91.0, 81.5], [92.0, 82.5]])
    assert out.t.dtype.kind == "M"  # the cube's labels stay
    single = with_dimension_type(
        normals.isel(time=[1]).assign_coords(time=["1991-2020"]), "time", "temporal"
    )
    flat = _call("anomaly", data=cube, normals=single, period="single-period")
    np.testing.assert_allclose(flat.isel(y=0, x=0).values, [12.0 - 30, 101 - 30, 102 - 30])


def test_anomaly_rejects_normals_that_match_nothing_or_another_grid() -> None:
    cube = _monthly("2000-01-01", 2)
    normals = xr.DataArray([1.0, 2.0], dims=("t",), coords={"t": ["djf", "mam"]})
    with pytest.raises(OpenEOError, match="no normal matches"):
        _call("anomaly", data=cube, normals=normals, period="month")
    shifted = xr.DataArray(
        np.zeros((12, 1, 2)),
        dims=("t", "y", "x"),
        coords={"t": [f"{m:02d}" for m in range(1, 13)], "y": [6.0], "x": [0.5, 1.5]},
    )
    with pytest.raises(OpenEOError, match="labels differ"):
        _call("anomaly", data=cube, normals=shifted, period="month")

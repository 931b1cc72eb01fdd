"""Temporal aggregation: ``aggregate_temporal`` (intervals) and ``aggregate_temporal_period``.

Both group the labels of the temporal dimension and call the reducer once per group
with a :class:`LabeledArray` along that dimension (vectorised over every pixel and
band). A group without any label yields no-data without calling the reducer.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import (
    dims_of_type,
    label_values,
    to_datetime_labels,
    with_dimension_type,
)
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes import periods
from eostation.engine.processes.cubes.schemas import TemporalCube
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param
from eostation.errors import DimensionNotAvailable, ProcessParameterInvalid, TemporalExtentEmpty

__all__ = ["aggregate_temporal", "aggregate_temporal_period", "reduce_groups", "temporal_dimension"]

_REDUCER = Annotated[
    Callback,
    Param(
        callback_schema(
            [
                cb_param(
                    "data",
                    "The values of one group along the temporal dimension.",
                    {"type": "array", "subtype": "labeled-array", "items": {}},
                ),
                cb_param("context", "The `context` argument.", {}, default=None),
            ],
            {},
            "The value for the group.",
        )
    ),
]
_INTERVALS = Annotated[
    list[Any],
    Param(
        {
            "type": "array",
            "subtype": "temporal-intervals",
            "minItems": 1,
            "items": {
                "type": "array",
                "subtype": "temporal-interval",
                "uniqueItems": True,
                "minItems": 2,
                "maxItems": 2,
                "items": {
                    "anyOf": [
                        {"type": "string", "format": "date-time", "subtype": "date-time"},
                        {"type": "string", "format": "date", "subtype": "date"},
                        {"type": "string", "subtype": "time", "pattern": "^\\d{2}:\\d{2}:\\d{2}$"},
                        {"type": "null"},
                    ]
                },
            },
            "examples": [
                [
                    ["2015-01-01", "2016-01-01"],
                    ["2016-01-01", "2017-01-01"],
                    ["2017-01-01", "2018-01-01"],
                ],
                [["06:00:00", "18:00:00"], ["18:00:00", "06:00:00"]],
            ],
        }
    ),
]
_LABELS = Annotated[
    list[Any],
    Param({"type": "array", "uniqueItems": True, "items": {"type": ["number", "string"]}}),
]
_PERIOD = Annotated[str, Param({"type": "string", "enum": list(periods.PERIODS)})]
_TIME_OF_DAY = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_CATEGORIES = ("cubes", "aggregate")


def _invalid(
    process_id: str, parameter: str, reason: str, exception: str
) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process=process_id, parameter=parameter, reason=reason, exception=exception
    )


def temporal_dimension(cube: xr.DataArray, dimension: str | None, process_id: str) -> str:
    """The named dimension, or the cube's only temporal one (spec exceptions otherwise)."""
    if dimension is not None:
        if dimension not in cube.dims:
            raise DimensionNotAvailable(
                dimension=dimension, available=", ".join(map(str, cube.dims)) or "none"
            )
        return dimension
    found = dims_of_type(cube, "temporal")
    if not found:
        raise DimensionNotAvailable(
            dimension="(temporal)", available=", ".join(map(str, cube.dims)) or "none"
        )
    if len(found) > 1:
        raise _invalid(
            process_id,
            "dimension",
            f"the cube has several temporal dimensions ({', '.join(found)}); name one",
            "TooManyDimensions",
        )
    return found[0]


def _as_labels(values: Sequence[Any]) -> np.ndarray:
    """Date(-time) labels as ``datetime64``, anything else as strings."""
    if values and all(
        isinstance(v, str) and not _TIME_OF_DAY.match(v) and _is_date(v) for v in values
    ):
        return to_datetime_labels(values)
    return np.asarray([str(v) for v in values], dtype=object)


def _is_date(value: str) -> bool:
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        return False
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", value))


def reduce_groups(
    cube: xr.DataArray,
    dim: str,
    groups: Sequence[np.ndarray],
    labels: np.ndarray,
    reducer: Callback,
    context: Any,
) -> xr.DataArray:
    """Reduce each group of positions along ``dim``; the groups become the new labels."""
    order = list(cube.dims)
    template = xr.full_like(cube.isel({dim: 0}, drop=True), np.nan, dtype=np.float64)
    pieces: list[xr.DataArray] = []
    for index in groups:
        if len(index) == 0:
            pieces.append(template)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = reducer(data=LabeledArray(cube.isel({dim: index}), dim), context=context)
        if isinstance(value, LabeledArray):
            value = value.data
        if not isinstance(value, xr.DataArray):
            value = template.fillna(np.nan if value is None else value)
        if dim in value.dims:
            raise ProcessParameterInvalid(
                process="aggregate_temporal",
                parameter="reducer",
                reason="the reducer must return a single value per group",
            )
        pieces.append(value.drop_vars(dim, errors="ignore"))
    out = xr.concat(pieces, dim=dim, coords="minimal", compat="override", join="override")
    out = out.assign_coords({dim: labels})
    out = with_dimension_type(out, dim, "temporal")
    out.attrs = dict(cube.attrs)
    return out.transpose(*[d for d in order if d in out.dims], ...)


def _time_of_day(values: np.ndarray) -> np.ndarray:
    stamps = pd.DatetimeIndex(values)
    return np.asarray(
        (stamps - stamps.normalize()).total_seconds(), dtype=np.float64
    )  # seconds since midnight


def _seconds(value: str) -> float:
    h, m, s = (int(p) for p in value.split(":"))
    return float(h * 3600 + m * 60 + s)


def _interval_members(times: np.ndarray, interval: Sequence[Any]) -> np.ndarray:
    start, end = interval
    if all(isinstance(v, str) and _TIME_OF_DAY.match(v) for v in (start, end)):
        of_day = _time_of_day(times)
        lo, hi = _seconds(start), _seconds(end)
        hit = (of_day >= lo) & (of_day < hi) if lo < hi else (of_day >= lo) | (of_day < hi)
        return np.flatnonzero(hit)
    hit = np.ones(times.shape, dtype=bool)
    if start is not None:
        hit &= times >= to_datetime_labels([start])[0]
    if end is not None:
        hit &= times < to_datetime_labels([end])[0]
    return np.flatnonzero(hit)


@process(
    "aggregate_temporal",
    categories=_CATEGORIES,
    exceptions={
        "TooManyDimensions": "The cube has several temporal dimensions; name one.",
        "DimensionNotAvailable": "The dimension does not exist.",
        "DistinctDimensionLabelsRequired": "Interval starts repeat; give distinct labels.",
        "TemporalExtentEmpty": "An interval ends before it starts.",
    },
)
def aggregate_temporal(
    data: TemporalCube,
    intervals: _INTERVALS,
    reducer: _REDUCER,
    labels: _LABELS = [],  # noqa: B006  (the spec default; never mutated)
    dimension: str | None = None,
    context: Context = None,
) -> TemporalCube:
    """Aggregate the temporal dimension over freely chosen, possibly overlapping intervals.

    Each interval includes its start and excludes its end; either may be null (open).
    Intervals of times of day (`06:00:00`) select by the time of day and may wrap past
    midnight. The new labels are `labels`, or the interval starts when they are distinct.

    Args:
        data: A cube with a temporal dimension.
        intervals: `[start, end)` pairs of dates, date-times or times of day.
        reducer: Reduces the values of one interval to one value, e.g. `mean`.
        labels: One distinct label per interval; by default the interval starts.
        dimension: The temporal dimension; by default the cube's only temporal dimension.
        context: Passed on to the reducer.

    Returns:
        The cube with one label per interval along the temporal dimension.
    """
    dim = temporal_dimension(data, dimension, "aggregate_temporal")
    times = label_values(data, dim)
    for start, end in intervals:
        dated = all(isinstance(v, str) and not _TIME_OF_DAY.match(v) for v in (start, end))
        if dated and to_datetime_labels([end])[0] <= to_datetime_labels([start])[0]:
            raise TemporalExtentEmpty(start=start, end=end)
    if labels:
        if len(labels) != len(intervals):
            raise _invalid(
                "aggregate_temporal",
                "labels",
                f"{len(labels)} labels for {len(intervals)} intervals",
                "LabelMismatch",
            )
        names = list(labels)
    else:
        names = [i[0] for i in intervals]
        if None in names:
            raise _invalid(
                "aggregate_temporal",
                "labels",
                f"interval {names.index(None)} has no start to label it with; give labels",
                "DistinctDimensionLabelsRequired",
            )
        if len({str(n) for n in names}) != len(names):
            raise _invalid(
                "aggregate_temporal",
                "labels",
                "the intervals' starts are not distinct; give labels",
                "DistinctDimensionLabelsRequired",
            )
    groups = [_interval_members(times, interval) for interval in intervals]
    return reduce_groups(data, dim, groups, _as_labels(names), reducer, context)


@process(
    "aggregate_temporal_period",
    categories=("aggregate", "climatology", "cubes"),
    exceptions={
        "TooManyDimensions": "The cube has several temporal dimensions; name one.",
        "DimensionNotAvailable": "The dimension does not exist.",
    },
)
def aggregate_temporal_period(
    data: TemporalCube,
    period: _PERIOD,
    reducer: _REDUCER,
    dimension: str | None = None,
    context: Context = None,
) -> TemporalCube:
    """Aggregate the temporal dimension by calendar periods (hours … decades).

    Labels follow the period: `2020-06-01-13` (hour), `2020-153` (day of year), `2022-49`
    (ISO week), `2024-03` (dekad 1–36), `2024-01` (month), `2023-djf` (season, named by
    the year of its first month), `2023-ndjfma` (tropical season), `2020` (year), `2020`
    (decade from a year ending in 0) or `2021` (decade from a year ending in 1). Every
    period from the first to the last date is present; empty ones hold no-data.

    Args:
        data: A cube with a temporal dimension.
        period: `hour`, `day`, `week`, `dekad`, `month`, `season`, `tropical-season`,
            `year`, `decade` or `decade-ad`.
        reducer: Reduces the values of one period to one value, e.g. `mean`.
        dimension: The temporal dimension; by default the cube's only temporal dimension.
        context: Passed on to the reducer.

    Returns:
        The cube with one label per period along the temporal dimension.
    """
    dim = temporal_dimension(data, dimension, "aggregate_temporal_period")
    if dimension is None and not np.issubdtype(label_values(data, dim).dtype, np.datetime64):
        raise DimensionNotAvailable(dimension=dim, available="(no dated temporal dimension)")
    times = to_datetime_labels(label_values(data, dim))
    starts = periods.periods_between(period, times)
    position = {s: i for i, s in enumerate(starts)}
    owner = np.asarray(
        [position[periods.period_start(period, pd.Timestamp(t))] for t in times], dtype=int
    )
    groups = [np.flatnonzero(owner == i) for i in range(len(starts))]
    names = np.asarray([periods.period_label(period, s) for s in starts], dtype=object)
    return reduce_groups(data, dim, groups, names, reducer, context)

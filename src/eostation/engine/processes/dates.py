"""Date and time processes: date_between, date_shift, date_difference.

Dates are RFC 3339 strings. A date-only input gives a date-only output; a datetime
keeps its UTC offset.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pandas as pd

from eostation.engine import rfc3339
from eostation.engine.registry import process
from eostation.engine.schema import DATE_OR_DATETIME, DATE_TIME_OR_TIME, Param
from eostation.errors import ProcessParameterInvalid

_DATES = ("date & time",)
_UNITS = ["millisecond", "second", "minute", "hour", "day", "week", "month", "year"]
DateTime = Annotated[str, Param(DATE_OR_DATETIME)]
Unit = Annotated[str, Param({"type": "string", "enum": _UNITS})]
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _timestamp(value: Any, process: str, parameter: str) -> pd.Timestamp:
    """``value`` read strictly (RFC 3339, as every other temporal argument), UTC when naive.

    Run-time values (from a callback parameter or another node) skip the graph's schema
    check, so pandas' guessing ("01/06/2022" as 6 January) must not happen here either.
    """
    try:
        stamp = rfc3339.parse(value)
    except ValueError as exc:
        raise ProcessParameterInvalid(
            process=process, parameter=parameter, reason=str(exc)
        ) from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _format(stamp: pd.Timestamp, date_only: bool) -> str:
    if date_only:
        return str(stamp.strftime("%Y-%m-%d"))
    text = str(stamp.isoformat(timespec="milliseconds" if stamp.microsecond else "seconds"))
    return text.replace("+00:00", "Z")


@process("date_between", categories=("date & time", "comparison"))
def date_between(
    x: Annotated[Any, Param(DATE_TIME_OR_TIME)],
    min: Annotated[Any, Param(DATE_TIME_OR_TIME)],
    max: Annotated[Any, Param(DATE_TIME_OR_TIME)],
    exclude_max: Annotated[bool, Param({"type": "boolean"})] = False,
) -> Annotated[Any, Param({"type": ["boolean", "null"]})]:
    """Whether a date, date-time or time lies in an interval.

    Times of day (`HH:MM:SS`) compare with times; dates with dates.

    Args:
        x: The value to test.
        min: Start of the interval, inclusive.
        max: End of the interval, inclusive unless `exclude_max`.
        exclude_max: Whether `max` itself is outside the interval.

    Returns:
        True when `x` lies in the interval, null for null.
    """
    if x is None:
        return None
    if all(isinstance(v, str) and _TIME.match(v) for v in (x, min, max)):
        low, high, value = min, max, x
    else:
        low = _timestamp(min, "date_between", "min")
        high = _timestamp(max, "date_between", "max")
        value = _timestamp(x, "date_between", "x")
    return bool(low <= value and (value < high if exclude_max else value <= high))


@process("date_shift", categories=_DATES)
def date_shift(
    date: DateTime, value: Annotated[int, Param({"type": "integer"})], unit: Unit
) -> Annotated[str, Param(DATE_OR_DATETIME)]:
    """Move a date by an amount of time.

    Months and years keep the day of month where it exists and fall back to the
    month's last day otherwise. A date-only input stays a date.

    Args:
        date: The date or date-time to shift.
        value: The amount; negative moves backwards.
        unit: The unit of `value`.

    Returns:
        The shifted date, in the format of `date`.
    """
    stamp = _timestamp(date, "date_shift", "date")
    date_only = bool(_DATE.match(date))
    if unit == "month":
        shifted = stamp + pd.DateOffset(months=value)
    elif unit == "year":
        shifted = stamp + pd.DateOffset(years=value)
    else:
        plural = {"millisecond": "milliseconds", "week": "weeks"}.get(unit, unit + "s")
        shifted = stamp + pd.Timedelta(**{plural: value})
    return _format(shifted, date_only)


_SECONDS = {
    "millisecond": 0.001,
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 604800,
}


@process("date_difference", categories=_DATES, experimental=True)
def date_difference(
    date1: DateTime, date2: DateTime, unit: Unit = "second"
) -> Annotated[float, Param({"type": "number"})]:
    """Time from one date to another, in a unit (negative when `date2` is earlier).

    Months and years count whole calendar months plus the fraction of the next one.

    Args:
        date1: The start.
        date2: The end.
        unit: The unit of the result.

    Returns:
        The difference `date2 - date1`.
    """
    start = _timestamp(date1, "date_difference", "date1")
    end = _timestamp(date2, "date_difference", "date2")
    if unit in _SECONDS:
        return float((end - start).total_seconds() / _SECONDS[unit])
    sign = 1 if end >= start else -1
    low, high = (start, end) if sign > 0 else (end, start)
    months = (high.year - low.year) * 12 + high.month - low.month
    if low + pd.DateOffset(months=months) > high:
        months -= 1
    anchor = low + pd.DateOffset(months=months)
    following = low + pd.DateOffset(months=months + 1)
    fraction = (high - anchor) / (following - anchor)
    total = sign * (months + fraction)
    return float(total / 12 if unit == "year" else total)

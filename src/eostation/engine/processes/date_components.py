"""``date_replace_component``: set one part of a date (CDSE's process, an openEO proposal).

Not in the openEO 2.0 specifications: CDSE offers it and published workflows use it,
e.g. ``date_replace_component(label, 15, "day")`` to find the middle of a month.
A value out of range is clipped to the component's bounds (day 40 becomes the month's
last day, hour -3 becomes 0), and a day that no longer exists after changing the year
or month falls back to the month's last day (31 January to February: 28 or 29).
"""

from __future__ import annotations

import calendar
from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.processes.dates import _DATE, _format, _timestamp
from eostation.engine.registry import process
from eostation.engine.schema import DATE_OR_DATETIME, Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["date_replace_component"]

_BOUNDS = {
    "year": (1, 9999),
    "month": (1, 12),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
_COMPONENTS = ["year", "month", "day", "hour", "minute", "second"]


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _replace(stamp: pd.Timestamp, value: int, component: str) -> pd.Timestamp:
    if component == "day":
        last = calendar.monthrange(stamp.year, stamp.month)[1]
        return stamp.replace(day=_clip(value, 1, last))
    parts = {component: _clip(value, *_BOUNDS[component])}
    if component in ("year", "month"):
        year = parts.get("year", stamp.year)
        month = parts.get("month", stamp.month)
        parts["day"] = min(stamp.day, calendar.monthrange(year, month)[1])
    return stamp.replace(**parts)


def _replace_labels(labels: xr.DataArray, value: int, component: str) -> xr.DataArray:
    """Vectorised over date labels (a callback's ``label`` along a temporal dimension)."""
    flat = pd.DatetimeIndex(np.asarray(labels.values).ravel())
    out = [pd.NaT if pd.isna(t) else _replace(t, value, component) for t in flat]
    values = np.asarray(pd.DatetimeIndex(out).values).reshape(labels.shape)
    return labels.copy(data=values)


@process("date_replace_component", categories=("date & time",), experimental=True)
def date_replace_component(
    date: Annotated[Any, Param([*DATE_OR_DATETIME, {"type": "null"}])],
    value: Annotated[int, Param({"type": "integer"})],
    component: Annotated[str, Param({"type": "string", "enum": _COMPONENTS})],
) -> Annotated[Any, Param([*DATE_OR_DATETIME, {"type": "null"}])]:
    """Replace one component of a date (a CDSE process).

    A CDSE process (an openEO proposal, not in the 2.0 specifications). Values out of
    range are clipped to the component's bounds: a day beyond the month's length
    becomes its last day, a day below 1 the first; hours clip to 0-23, minutes and
    seconds to 0-59, months to 1-12. When the new year or month lacks the date's day,
    the day becomes the month's last. A date-only input stays a date, a date-time keeps
    its time zone. In a callback over a temporal dimension, `label` works as well.

    Args:
        date: The date or date-time to change; null gives null.
        value: The new value of the component.
        component: The component to replace: `year`, `month`, `day`, `hour`,
            `minute` or `second`.

    Returns:
        The date with the component replaced, in the format of `date`.
    """
    if date is None:
        return None
    if component not in _COMPONENTS:
        raise ProcessParameterInvalid(
            process="date_replace_component",
            parameter="component",
            reason=f"'{component}' is not one of {', '.join(_COMPONENTS)}.",
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProcessParameterInvalid(
            process="date_replace_component", parameter="value", reason="expected an integer."
        )
    if isinstance(date, xr.DataArray) and date.dtype.kind == "M":
        return _replace_labels(date, value, component)
    if not isinstance(date, str):
        raise ProcessParameterInvalid(
            process="date_replace_component", parameter="date", reason="expected a date."
        )
    date_only = bool(_DATE.match(date))
    stamp = _timestamp(date, "date_replace_component", "date")
    if date_only:
        stamp = stamp.tz_localize(None)
    return _format(_replace(stamp, value, component), date_only)

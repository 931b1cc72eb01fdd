"""Calendar periods of ``aggregate_temporal_period``, ``anomaly`` and ``climatological_normal``.

A period is identified by its first instant. :func:`period_start` maps a time to the
start of its period, :func:`next_start` steps to the following period, and
:func:`period_label` renders the spec's labels (``2024-03`` for the third dekad,
``2023-djf`` for the winter starting in December 2023, ...). :func:`cycle_key` is the
label without its year: the key that a normal (``01`` … ``12``, ``djf``) is stored under.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "PERIODS",
    "cycle_key",
    "next_start",
    "period_label",
    "period_start",
    "periods_between",
]

PERIODS = (
    "hour",
    "day",
    "week",
    "dekad",
    "month",
    "season",
    "tropical-season",
    "year",
    "decade",
    "decade-ad",
)
_SEASONS = {12: "djf", 3: "mam", 6: "jja", 9: "son"}
_TROPICAL = {11: "ndjfma", 5: "mjjaso"}


def _ts(year: int, month: int = 1, day: int = 1) -> pd.Timestamp:
    return pd.Timestamp(year=year, month=month, day=day)


def period_start(period: str, time: pd.Timestamp) -> pd.Timestamp:
    """The first instant of the ``period`` that contains ``time``."""
    y, m, d = time.year, time.month, time.day
    if period == "hour":
        return time.floor("h")
    if period == "day":
        return time.floor("D")
    if period == "week":
        return (time - pd.Timedelta(days=time.dayofweek)).floor("D")
    if period == "dekad":
        return _ts(y, m, 1 if d <= 10 else 11 if d <= 20 else 21)
    if period == "month":
        return _ts(y, m)
    if period == "season":
        first = (m // 3) * 3
        return _ts(y - 1, 12) if first == 0 else _ts(y, first)
    if period == "tropical-season":
        if 5 <= m <= 10:
            return _ts(y, 5)
        return _ts(y, 11) if m >= 11 else _ts(y - 1, 11)
    if period == "year":
        return _ts(y)
    if period == "decade":
        return _ts(y - y % 10)
    if period == "decade-ad":
        return _ts((y - 1) // 10 * 10 + 1)
    raise ValueError(f"unknown period {period!r}")


def next_start(period: str, start: pd.Timestamp) -> pd.Timestamp:
    """The start of the period after the one starting at ``start``."""
    steps = {
        "hour": pd.DateOffset(hours=1),
        "day": pd.DateOffset(days=1),
        "week": pd.DateOffset(days=7),
        "month": pd.DateOffset(months=1),
        "season": pd.DateOffset(months=3),
        "tropical-season": pd.DateOffset(months=6),
        "year": pd.DateOffset(years=1),
        "decade": pd.DateOffset(years=10),
        "decade-ad": pd.DateOffset(years=10),
    }
    if period == "dekad":
        if start.day == 21:
            return start + pd.DateOffset(months=1, day=1)
        return start + pd.DateOffset(days=10)
    return pd.Timestamp(start + steps[period])


def period_label(period: str, start: pd.Timestamp) -> str:
    """The spec label of the period starting at ``start``."""
    y = start.year
    if period == "hour":
        return f"{start:%Y-%m-%d-%H}"
    if period == "day":
        return f"{y:04d}-{start.dayofyear:03d}"
    if period == "week":
        iso = start.isocalendar()
        return f"{iso[0]:04d}-{iso[1]:02d}"
    if period == "dekad":
        index = (start.month - 1) * 3 + (start.day - 1) // 10 + 1
        return f"{y:04d}-{index:02d}"
    if period == "month":
        return f"{y:04d}-{start.month:02d}"
    if period == "season":
        return f"{y:04d}-{_SEASONS[start.month]}"
    if period == "tropical-season":
        return f"{y:04d}-{_TROPICAL[start.month]}"
    return f"{y:04d}"


def cycle_key(period: str, label: str) -> str:
    """The recurring part of a period label (``2024-03`` → ``03``; years stay whole)."""
    if period in ("year", "decade", "decade-ad"):
        return label
    return label.rsplit("-", 1)[-1]


def periods_between(period: str, times: Iterable[np.datetime64]) -> list[pd.Timestamp]:
    """Every period start from the first to the last time's period (complete, in order)."""
    stamps = [pd.Timestamp(t) for t in times]
    if not stamps:
        return []
    current = period_start(period, min(stamps))
    last = period_start(period, max(stamps))
    out = []
    while current <= last:
        out.append(current)
        current = next_start(period, current)
    return out

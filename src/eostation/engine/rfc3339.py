"""Dates and date-times as openEO writes them: RFC 3339, and nothing looser.

pandas reads almost any string as a date (``"01/06/2022"`` becomes 6 January, month
first), which silently turns a European day-first notebook date into another
interval. Every temporal argument goes through :func:`timestamp` instead: a full date
``YYYY-MM-DD`` or a date-time ``YYYY-MM-DDThh:mm:ss[.f]`` with ``Z`` or ``±hh:mm``.
Date-times without an offset (``2022-06-01T00:00:00``, frequent in notebooks) are read
as UTC, as CDSE does.
"""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

__all__ = ["EXPECTED", "is_date", "is_date_time", "parse", "timestamp"]

EXPECTED: Final = (
    "an RFC 3339 date 'YYYY-MM-DD' or date-time 'YYYY-MM-DDThh:mm:ssZ' "
    "(an offset such as +02:00 instead of Z is allowed; without one, UTC is assumed)"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


def _parses(value: str) -> bool:
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        return False
    return True


def is_date(value: object) -> bool:
    """Whether ``value`` is a full RFC 3339 date (``2022-06-01``) that exists."""
    return isinstance(value, str) and bool(_DATE.fullmatch(value)) and _parses(value)


def is_date_time(value: object) -> bool:
    """Whether ``value`` is an RFC 3339 date-time (offset optional) that exists."""
    return isinstance(value, str) and bool(_DATE_TIME.fullmatch(value)) and _parses(value)


def parse(value: object) -> pd.Timestamp:
    """``value`` (a date or date-time) as a timestamp that keeps its UTC offset, if any.

    Raises ``ValueError`` naming the expected format for anything else.
    """
    if not isinstance(value, str) or not (is_date(value) or is_date_time(value)):
        raise ValueError(f"{value!r} is not {EXPECTED}.")
    return pd.Timestamp(value)


def timestamp(value: str) -> pd.Timestamp:
    """``value`` (a date or date-time) as a UTC-naive timestamp.

    Raises ``ValueError`` naming the expected format for anything else.
    """
    stamp = parse(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp

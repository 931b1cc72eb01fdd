"""Comparisons and value tests: eq, neq, lt, lte, gt, gte, between, is_*.

On scalars the spec semantics apply exactly: null in, null out; NaN compares unequal
and not ordered; values of different JSON types are never equal and only numbers are
ordered. On arrays and cubes NaN is no-data, so the result is a nullable boolean (see
:mod:`eostation.engine.vectorize`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import LabeledArray
from eostation.engine.registry import process
from eostation.engine.schema import BOOLEAN, AnyValue, BooleanOrNull, Param, Scalar
from eostation.engine.vectorize import is_array, nullable_op

_CMP = ("comparison",)
Number = Annotated[float, Param({"type": "number"})]
Delta = Annotated[Any, Param({"type": ["number", "null"], "minimumExclusive": 0})]
Bool = Annotated[bool, Param(BOOLEAN)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _order(op: Callable[[Any, Any], Any], x: Any, y: Any) -> Any:
    if is_array(x) or is_array(y):
        return nullable_op(op, x, y)
    if x is None or y is None:
        return None
    if not (_is_number(x) and _is_number(y)):
        return False
    return bool(op(x, y))


def _equal(x: Any, y: Any, delta: float | None, case_sensitive: bool, negate: bool = False) -> Any:
    if is_array(x) or is_array(y):

        def same(a: Any, b: Any) -> Any:
            equal = abs(a - b) <= delta if delta is not None else a == b
            return ~equal if negate else equal

        return nullable_op(same, x, y)
    if x is None or y is None:
        return None
    if _is_number(x) and _is_number(y):
        return bool(abs(x - y) <= delta) if delta is not None else bool(x == y)
    if type(x) is not type(y):
        return False
    if isinstance(x, str) and not case_sensitive:
        return bool(x.casefold() == y.casefold())
    return bool(x == y)


@process("eq", categories=_CMP)
def eq(x: Scalar, y: Scalar, delta: Delta = None, case_sensitive: Bool = True) -> BooleanOrNull:
    """Whether two values are equal.

    Numbers compare by value (within ``delta`` when given), strings optionally ignoring
    case; values of different types are unequal. Null in either operand gives null.

    Args:
        x: The first value.
        y: The second value.
        delta: Largest difference at which two numbers still count as equal.
        case_sensitive: Whether strings must match in case.

    Returns:
        True when equal, false otherwise, null when an operand is null.
    """
    return _equal(x, y, delta, case_sensitive)


@process("neq", categories=_CMP)
def neq(x: Scalar, y: Scalar, delta: Delta = None, case_sensitive: Bool = True) -> BooleanOrNull:
    """Whether two values differ; the negation of ``eq``.

    Args:
        x: The first value.
        y: The second value.
        delta: Largest difference at which two numbers still count as equal.
        case_sensitive: Whether strings must match in case.

    Returns:
        True when different, false otherwise, null when an operand is null.
    """
    if is_array(x) or is_array(y):
        return _equal(x, y, delta, case_sensitive, negate=True)
    same = _equal(x, y, delta, case_sensitive)
    return None if same is None else not same


@process("gt", categories=_CMP)
def gt(x: Scalar, y: Scalar) -> BooleanOrNull:
    """Whether the first number is greater than the second.

    Args:
        x: The first value.
        y: The second value.

    Returns:
        The comparison; false for non-numbers, null when an operand is null.
    """
    return _order(operator.gt, x, y)


@process("gte", categories=_CMP)
def gte(x: Scalar, y: Scalar) -> BooleanOrNull:
    """Whether the first number is greater than or equal to the second.

    Args:
        x: The first value.
        y: The second value.

    Returns:
        The comparison; false for non-numbers, null when an operand is null.
    """
    return _order(operator.ge, x, y)


@process("lt", categories=_CMP)
def lt(x: Scalar, y: Scalar) -> BooleanOrNull:
    """Whether the first number is less than the second.

    Args:
        x: The first value.
        y: The second value.

    Returns:
        The comparison; false for non-numbers, null when an operand is null.
    """
    return _order(operator.lt, x, y)


@process("lte", categories=_CMP)
def lte(x: Scalar, y: Scalar) -> BooleanOrNull:
    """Whether the first number is less than or equal to the second.

    Args:
        x: The first value.
        y: The second value.

    Returns:
        The comparison; false for non-numbers, null when an operand is null.
    """
    return _order(operator.le, x, y)


@process("between", categories=_CMP)
def between(x: AnyValue, min: Number, max: Number, exclude_max: Bool = False) -> BooleanOrNull:
    """Whether a number lies in a range.

    Args:
        x: The value to test.
        min: Lower bound, inclusive.
        max: Upper bound, inclusive unless ``exclude_max``.
        exclude_max: Whether ``max`` itself is outside the range.

    Returns:
        True when ``x`` is in range; false for non-numbers; null for null.
    """
    upper = operator.lt if exclude_max else operator.le
    if is_array(x):
        return nullable_op(lambda a: (a >= min) & upper(a, max), x)
    if x is None:
        return None
    if not _is_number(x):
        return False
    return bool(x >= min and upper(x, max))


def _test(x: Any, scalar: Callable[[Any], bool], array: Callable[[Any], Any]) -> Any:
    if isinstance(x, LabeledArray):
        return x.with_data(array(x.data))
    if isinstance(x, (xr.DataArray, np.ndarray)):
        return array(x)
    return scalar(x)


def _float_kind(a: Any) -> bool:
    return bool(a.dtype.kind in "fc")


@process("is_nan", categories=("comparison", "math > constants", "reducer"))
def is_nan(x: AnyValue) -> Annotated[Any, Param(BOOLEAN)]:
    """Whether a value is not a number: NaN, or any non-numeric value.

    Args:
        x: The value to test.

    Returns:
        True for NaN and for anything that is not a number.
    """
    return _test(
        x,
        lambda v: not _is_number(v) or math.isnan(v),
        lambda a: np.isnan(a) if _float_kind(a) else a != a,
    )


@process("is_nodata", categories=("comparison",))
def is_nodata(x: AnyValue) -> Annotated[Any, Param(BOOLEAN)]:
    """Whether a value is no-data (null; on arrays and cubes also NaN).

    Args:
        x: The value to test.

    Returns:
        True for null.
    """
    return _test(
        x, lambda v: v is None, lambda a: a.isnull() if hasattr(a, "isnull") else np.isnan(a)
    )


@process("is_infinite", categories=("comparison",))
def is_infinite(x: AnyValue) -> Annotated[Any, Param(BOOLEAN)]:
    """Whether a value is positive or negative infinity.

    Args:
        x: The value to test.

    Returns:
        True for ±infinity only.
    """
    return _test(
        x,
        lambda v: _is_number(v) and math.isinf(v),
        lambda a: np.isinf(a) if _float_kind(a) else a != a,
    )


@process("is_valid", categories=("comparison",))
def is_valid(x: AnyValue) -> Annotated[Any, Param(BOOLEAN)]:
    """Whether a value is valid: not null and, for numbers, finite.

    Args:
        x: The value to test.

    Returns:
        False for null, NaN and infinities; true otherwise.
    """
    return _test(
        x,
        lambda v: v is not None and not (_is_number(v) and not math.isfinite(v)),
        lambda a: np.isfinite(a) if _float_kind(a) else a == a,
    )

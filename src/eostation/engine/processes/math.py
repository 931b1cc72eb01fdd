"""Arithmetic, rounding, exponentials and logarithms: element-wise math."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.registry import process
from eostation.engine.schema import NUMBER, NumberOrNull, Param
from eostation.engine.vectorize import elementwise, is_array, select
from eostation.errors import ProcessParameterInvalid

_MATH = ("math",)
Number = Annotated[float, Param(NUMBER)]
Integer = Annotated[int, Param({"type": "integer"})]
IntegerOrNull = Annotated[Any, Param({"type": ["integer", "null"]})]


def _true_divide(x: Any, y: Any) -> Any:
    return np.true_divide(x, y)


@process("add", categories=_MATH)
def add(x: NumberOrNull, y: NumberOrNull) -> NumberOrNull:
    """Add two numbers.

    Null in either operand gives null; works element-wise on arrays and cubes.

    Args:
        x: The first summand.
        y: The second summand.

    Returns:
        The sum ``x + y``.
    """
    return elementwise(lambda a, b: a + b, x, y)


@process("subtract", categories=_MATH)
def subtract(x: NumberOrNull, y: NumberOrNull) -> NumberOrNull:
    """Subtract one number from another.

    Args:
        x: The minuend.
        y: The subtrahend.

    Returns:
        The difference ``x - y``.
    """
    return elementwise(lambda a, b: a - b, x, y)


@process("multiply", categories=_MATH)
def multiply(x: NumberOrNull, y: NumberOrNull) -> NumberOrNull:
    """Multiply two numbers.

    Args:
        x: The first factor.
        y: The second factor.

    Returns:
        The product ``x * y``.
    """
    return elementwise(lambda a, b: a * b, x, y)


@process("divide", categories=_MATH)
def divide(x: NumberOrNull, y: NumberOrNull) -> NumberOrNull:
    """Divide one number by another.

    Division by zero follows IEEE 754: ``±inf`` for a non-zero dividend, NaN for ``0/0``.

    Args:
        x: The dividend.
        y: The divisor.

    Returns:
        The quotient ``x / y``.
    """
    return elementwise(_true_divide, x, y)


@process("mod", categories=_MATH)
def mod(x: NumberOrNull, y: NumberOrNull) -> NumberOrNull:
    """Remainder of a floored division; the result takes the sign of the divisor.

    A zero divisor yields ``x / 0`` (``±inf`` or NaN) and an infinite dividend NaN.

    Args:
        x: The dividend.
        y: The divisor.

    Returns:
        The remainder.
    """

    def kernel(a: Any, b: Any) -> Any:
        remainder = np.mod(a, b)
        by_zero = np.true_divide(a, b)
        if isinstance(remainder, xr.DataArray) or is_array(remainder):
            return (
                select(b == 0, by_zero, remainder)
                if isinstance(remainder, xr.DataArray)
                else np.where(b == 0, by_zero, remainder)
            )
        if b == 0:
            return by_zero
        if math.isinf(b) and not math.isinf(a):
            return a
        return remainder

    return elementwise(kernel, x, y)


@process("absolute", categories=_MATH)
def absolute(x: NumberOrNull) -> Annotated[Any, Param({"type": ["number", "null"], "minimum": 0})]:
    """Absolute value of a number.

    Args:
        x: A number.

    Returns:
        The magnitude of ``x``.
    """
    return elementwise(np.abs, x)


@process("sgn", categories=_MATH)
def sgn(
    x: NumberOrNull,
) -> Annotated[Any, Param({"type": ["number", "null"], "enum": [-1, 0, 1, None]})]:
    """Sign of a number: -1, 0 or 1.

    Args:
        x: A number.

    Returns:
        The sign of ``x`` (NaN stays NaN).
    """
    return elementwise(np.sign, x)


@process("sqrt", categories=("math > exponential & logarithmic",))
def sqrt(x: NumberOrNull) -> NumberOrNull:
    """Square root.

    Negative numbers give NaN.

    Args:
        x: A number.

    Returns:
        The non-negative square root of ``x``.
    """
    return elementwise(np.sqrt, x)


@process("power", categories=("math > exponential & logarithmic",))
def power(base: NumberOrNull, p: NumberOrNull) -> NumberOrNull:
    """Raise a base to a power.

    Args:
        base: The base.
        p: The exponent.

    Returns:
        ``base`` to the power of ``p``.
    """
    return elementwise(
        lambda a, b: np.power(np.asarray(a, dtype=float), b) if not is_array(a) else a**b, base, p
    )


@process("exp", categories=("math > exponential & logarithmic",))
def exp(
    p: NumberOrNull,
) -> Annotated[Any, Param({"type": ["number", "null"], "minimumExclusive": 0})]:
    """Euler's number raised to a power.

    Args:
        p: The exponent.

    Returns:
        ``e`` to the power of ``p``.
    """
    return elementwise(np.exp, p)


@process("ln", categories=("math > exponential & logarithmic",))
def ln(
    x: Annotated[Any, Param({"type": ["number", "null"], "minimum": 0})],
) -> NumberOrNull:
    """Natural logarithm.

    Zero gives ``-inf``, negative numbers NaN.

    Args:
        x: A number.

    Returns:
        The logarithm of ``x`` to base ``e``.
    """
    return elementwise(np.log, x)


@process("log", categories=("math > exponential & logarithmic",))
def log(
    x: Annotated[Any, Param({"type": ["number", "null"], "minimum": 0})], base: NumberOrNull
) -> NumberOrNull:
    """Logarithm to an arbitrary base.

    Args:
        x: A number.
        base: The base of the logarithm.

    Returns:
        The logarithm of ``x`` to ``base``.
    """
    return elementwise(lambda a, b: np.log(a) / np.log(b), x, base)


@process("int", categories=("math > rounding",))
def int_(x: NumberOrNull) -> IntegerOrNull:
    """Integer part of a number, truncating towards zero.

    NaN has no integer part and gives null.

    Args:
        x: A number.

    Returns:
        ``x`` without its fractional part.
    """
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, float) and not math.isinf(x):
        return int(x)
    return elementwise(np.trunc, x)


@process("floor", categories=("math > rounding",))
def floor(x: NumberOrNull) -> IntegerOrNull:
    """Round down to the next integer.

    Args:
        x: A number.

    Returns:
        The greatest integer not above ``x``.
    """
    if isinstance(x, float) and math.isfinite(x):
        return math.floor(x)
    return elementwise(np.floor, x)


@process("ceil", categories=("math > rounding",))
def ceil(x: NumberOrNull) -> IntegerOrNull:
    """Round up to the next integer.

    Args:
        x: A number.

    Returns:
        The least integer not below ``x``.
    """
    if isinstance(x, float) and math.isfinite(x):
        return math.ceil(x)
    return elementwise(np.ceil, x)


@process("round", categories=("math > rounding",))
def round_(x: NumberOrNull, p: Integer = 0) -> NumberOrNull:
    """Round to a number of decimal places, halves to the nearest even digit.

    A negative ``p`` rounds to tens, hundreds, and so on.

    Args:
        x: A number.
        p: Decimal places to keep; negative values round left of the decimal point.

    Returns:
        The rounded number.
    """
    return elementwise(lambda a: np.round(a, p), x)


@process("clip", categories=_MATH, exceptions={"MinMaxSwapped": "'min' is greater than 'max'."})
def clip(x: NumberOrNull, min: Number, max: Number) -> NumberOrNull:
    """Limit values to a range.

    Values below ``min`` become ``min``, values above ``max`` become ``max``.

    Args:
        x: A number.
        min: The lower bound.
        max: The upper bound.

    Returns:
        ``x`` limited to ``[min, max]``; NaN bounds give NaN.
    """
    if min > max:
        raise ProcessParameterInvalid(
            process="clip",
            parameter="min",
            reason="min is greater than max",
            exception="MinMaxSwapped",
        )
    if math.isnan(min) or math.isnan(max):
        return elementwise(lambda a: a * np.nan, x)
    return elementwise(lambda a: np.clip(a, min, max), x)


@process("linear_scale_range", categories=_MATH)
def linear_scale_range(
    x: NumberOrNull,
    inputMin: Number,
    inputMax: Number,
    outputMin: Number = 0,
    outputMax: Number = 1,
) -> NumberOrNull:
    """Map values linearly from an input range to an output range.

    Values outside the input range are clipped to it first.

    Args:
        x: The number to rescale.
        inputMin: Lower end of the input range.
        inputMax: Upper end of the input range.
        outputMin: Lower end of the output range.
        outputMax: Upper end of the output range.

    Returns:
        The rescaled number.
    """
    low, high = (inputMin, inputMax) if inputMin <= inputMax else (inputMax, inputMin)

    def kernel(a: Any) -> Any:
        clipped = np.clip(a, low, high)
        return ((clipped - inputMin) / (inputMax - inputMin)) * (outputMax - outputMin) + outputMin

    return elementwise(kernel, x)


@process("normalized_difference", categories=("math > indices", "vegetation indices"))
def normalized_difference(
    x: Number, y: Number
) -> Annotated[Any, Param({"type": "number", "minimum": -1, "maximum": 1})]:
    """Normalized difference ``(x - y) / (x + y)`` of two numbers or bands.

    Args:
        x: The first value (e.g. near infrared).
        y: The second value (e.g. red).

    Returns:
        The normalized difference, between -1 and 1.
    """
    return elementwise(lambda a, b: np.true_divide(a - b, a + b), x, y)

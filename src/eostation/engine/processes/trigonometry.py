"""Trigonometric and hyperbolic functions, element-wise on numbers, arrays and cubes."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np

from eostation.engine.registry import process
from eostation.engine.schema import NumberOrNull, Param
from eostation.engine.vectorize import elementwise

_TRIG = ("math > trigonometric",)


_NUM = ["number", "null"]
UnitInterval = Annotated[Any, Param({"type": _NUM, "minimum": -1, "maximum": 1})]
OpenUnitInterval = Annotated[
    Any, Param({"type": _NUM, "minimumExclusive": -1, "maximumExclusive": 1})
]
NonNegative = Annotated[Any, Param({"type": _NUM, "minimum": 0})]
AtLeastOne = Annotated[Any, Param({"type": _NUM, "minimum": 1})]


@process("sin", categories=_TRIG)
def sin(x: NumberOrNull) -> UnitInterval:
    """Sine of an angle.

    Args:
        x: An angle in radians.

    Returns:
        The sine of `x`.
    """
    return elementwise(np.sin, x)


@process("cos", categories=_TRIG)
def cos(x: NumberOrNull) -> UnitInterval:
    """Cosine of an angle.

    Args:
        x: An angle in radians.

    Returns:
        The cosine of `x`.
    """
    return elementwise(np.cos, x)


@process("tan", categories=_TRIG)
def tan(x: NumberOrNull) -> NumberOrNull:
    """Tangent of an angle.

    Args:
        x: An angle in radians.

    Returns:
        The tangent of `x`.
    """
    return elementwise(np.tan, x)


@process("arcsin", categories=_TRIG)
def arcsin(x: UnitInterval) -> NumberOrNull:
    """Inverse sine; inputs outside [-1, 1] give NaN.

    Args:
        x: A sine value.

    Returns:
        The angle in radians.
    """
    return elementwise(np.arcsin, x)


@process("arccos", categories=_TRIG)
def arccos(x: UnitInterval) -> NonNegative:
    """Inverse cosine; inputs outside [-1, 1] give NaN.

    Args:
        x: A cosine value.

    Returns:
        The angle in radians.
    """
    return elementwise(np.arccos, x)


@process("arctan", categories=_TRIG)
def arctan(x: NumberOrNull) -> NumberOrNull:
    """Inverse tangent.

    Args:
        x: A tangent value.

    Returns:
        The angle in radians, between -π/2 and π/2.
    """
    return elementwise(np.arctan, x)


@process("sinh", categories=_TRIG)
def sinh(x: NumberOrNull) -> NumberOrNull:
    """Hyperbolic sine.

    Args:
        x: An angle in radians.

    Returns:
        The hyperbolic sine of `x`.
    """
    return elementwise(np.sinh, x)


@process("cosh", categories=_TRIG)
def cosh(x: NumberOrNull) -> AtLeastOne:
    """Hyperbolic cosine.

    Args:
        x: An angle in radians.

    Returns:
        The hyperbolic cosine of `x`.
    """
    return elementwise(np.cosh, x)


@process("tanh", categories=_TRIG)
def tanh(x: NumberOrNull) -> OpenUnitInterval:
    """Hyperbolic tangent.

    Args:
        x: An angle in radians.

    Returns:
        The hyperbolic tangent of `x`.
    """
    return elementwise(np.tanh, x)


@process("arsinh", categories=_TRIG)
def arsinh(x: NumberOrNull) -> NumberOrNull:
    """Inverse hyperbolic sine.

    Args:
        x: A number.

    Returns:
        The angle in radians.
    """
    return elementwise(np.arcsinh, x)


@process("arcosh", categories=_TRIG)
def arcosh(x: NumberOrNull) -> NonNegative:
    """Inverse hyperbolic cosine; inputs below 1 give NaN.

    Args:
        x: A number.

    Returns:
        The angle in radians.
    """
    return elementwise(np.arccosh, x)


@process("artanh", categories=_TRIG)
def artanh(x: OpenUnitInterval) -> NumberOrNull:
    """Inverse hyperbolic tangent; ±1 give ±infinity.

    Args:
        x: A number.

    Returns:
        The angle in radians.
    """
    return elementwise(np.arctanh, x)


@process("arctan2", categories=_TRIG)
def arctan2(y: NumberOrNull, x: NumberOrNull) -> NumberOrNull:
    """Angle of the point (x, y) from the positive x axis, in all four quadrants.

    Args:
        y: The y coordinate.
        x: The x coordinate.

    Returns:
        The angle in radians, between -π and π.
    """
    return elementwise(np.arctan2, y, x)

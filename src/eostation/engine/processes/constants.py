"""Constants: ``pi``, ``e``, ``nan`` and ``constant``."""

from __future__ import annotations

import math
from typing import Annotated, Any

from eostation.engine.registry import process
from eostation.engine.schema import NUMBER, Param

__all__ = ["constant", "e", "nan", "pi"]


@process("pi", categories=("math > constants",))
def pi() -> Annotated[float, Param(NUMBER)]:
    """The ratio of a circle's circumference to its diameter.

    Returns:
        π, as a double.
    """
    return math.pi


@process("e", categories=("math > constants",))
def e() -> Annotated[float, Param(NUMBER)]:
    """Euler's number, the base of the natural logarithm.

    Returns:
        e, as a double.
    """
    return math.e


@process("nan", categories=("math > constants",))
def nan() -> Annotated[float, Param({})]:
    """The IEEE 754 not-a-number value.

    Returns:
        NaN.
    """
    return math.nan


@process("constant", categories=("math > constants",))
def constant(x: Annotated[Any, Param({})]) -> Annotated[Any, Param({})]:
    """Pass a value through unchanged, e.g. to define a value once and reuse it.

    Args:
        x: The value.

    Returns:
        ``x``.
    """
    return x

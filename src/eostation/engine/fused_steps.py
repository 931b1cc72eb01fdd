"""The steps of fused callbacks (see :mod:`eostation.engine.fused`): numpy on one slab.

Numbers are numpy arrays or Python scalars with NaN as null. A boolean is a
:class:`NullableBool`, a pair of ``bool`` arrays, rather than the float32 1/0/NaN the
ordinary evaluation uses: ``eq`` is then one comparison, ``or`` one bitwise operation
plus the null bookkeeping, and a :class:`Slab` computes each input's null mask once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["KERNELS", "NullableBool", "Slab", "value_dtype", "write_value"]


@dataclass(frozen=True)
class NullableBool:
    """A nullable boolean: ``value`` is False wherever ``null`` is True."""

    value: np.ndarray
    null: np.ndarray | None


class Slab:
    """The inputs of one slab, with each float input's null mask computed once."""

    def __init__(self, inputs: Sequence[np.ndarray]) -> None:
        self.inputs = inputs
        # id -> (the array, its mask): holding the array keeps its id from being reused
        self._nulls: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def null(self, value: Any) -> np.ndarray | None:
        """Where a float array is null (NaN); None for anything that cannot be null."""
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fc":
            return None
        cached = self._nulls.get(id(value))
        if cached is None or cached[0] is not value:
            cached = self._nulls[id(value)] = (value, np.asarray(np.isnan(value)))
        mask: np.ndarray = cached[1]
        return mask


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None or a is b:
        return a if b is None else b
    either: np.ndarray = a | b
    return either


def _number(value: Any) -> Any:
    """A nullable boolean as numpy arithmetic sees it (float32 1/0/NaN); null as NaN."""
    if value is None:
        return np.nan
    if not isinstance(value, NullableBool):
        return value
    if value.null is None:
        return value.value
    out = value.value.astype(np.float32)
    out[value.null] = np.nan
    return out


def _truth(value: Any, slab: Slab) -> NullableBool:
    """A number or nullable boolean as a :class:`NullableBool` (non-zero is true)."""
    if isinstance(value, NullableBool):
        return value
    null = slab.null(value)
    truth = np.asarray(value != 0)
    return NullableBool(truth & ~null if null is not None else truth, null)


def _arithmetic(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def step(slab: Slab, x: Any, y: Any) -> Any:
        with np.errstate(all="ignore"):
            return op(_number(x), _number(y))

    return step


def _compare(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def step(slab: Slab, x: Any, y: Any) -> NullableBool:
        x, y = _number(x), _number(y)
        with np.errstate(all="ignore"):
            value = np.asarray(op(x, y))
        return NullableBool(value, _either(slab.null(x), slab.null(y)))

    return step


def _or(slab: Slab, x: Any, y: Any) -> NullableBool:
    a, b = _truth(x, slab), _truth(y, slab)
    value = a.value | b.value
    null = _either(a.null, b.null)
    return NullableBool(value, None if null is None else null & ~value)


def _and(slab: Slab, x: Any, y: Any) -> NullableBool:
    a, b = _truth(x, slab), _truth(y, slab)
    value = a.value & b.value
    if a.null is None and b.null is None:
        return NullableBool(value, None)
    undecided_a = a.value if a.null is None else a.value | a.null
    undecided_b = b.value if b.null is None else b.value | b.null
    null = np.zeros_like(value)
    if a.null is not None:
        null |= a.null & undecided_b
    if b.null is not None:
        null |= b.null & undecided_a
    return NullableBool(value, null)


def _not(slab: Slab, x: Any) -> NullableBool:
    a = _truth(x, slab)
    return NullableBool(~a.value if a.null is None else ~(a.value | a.null), a.null)


def _normalized_difference(slab: Slab, x: Any, y: Any) -> Any:
    x, y = _number(x), _number(y)
    with np.errstate(all="ignore"):
        return np.true_divide(x - y, x + y)


def _unary(op: Callable[[Any], Any]) -> Callable[..., Any]:
    def step(slab: Slab, x: Any) -> Any:
        with np.errstate(all="ignore"):
            return op(_number(x))

    return step


def _if(slab: Slab, value: Any, accept: Any, reject: Any) -> Any:
    condition = value.value if isinstance(value, NullableBool) else np.asarray(_number(value) == 1)
    return np.where(condition, _number(accept), _number(reject))


# process id -> (operand names in call order, a trailing "?" marking one that may be
# omitted (null); options that must be absent or hold their default; the step).
KERNELS: Mapping[str, tuple[tuple[str, ...], Mapping[str, Any], Callable[..., Any]]] = {
    "add": (("x", "y"), {}, _arithmetic(lambda a, b: a + b)),
    "subtract": (("x", "y"), {}, _arithmetic(lambda a, b: a - b)),
    "multiply": (("x", "y"), {}, _arithmetic(lambda a, b: a * b)),
    "divide": (("x", "y"), {}, _arithmetic(np.true_divide)),
    "normalized_difference": (("x", "y"), {}, _normalized_difference),
    "eq": (("x", "y"), {"delta": None, "case_sensitive": True}, _compare(np.equal)),
    "neq": (("x", "y"), {"delta": None, "case_sensitive": True}, _compare(np.not_equal)),
    "lt": (("x", "y"), {}, _compare(np.less)),
    "lte": (("x", "y"), {}, _compare(np.less_equal)),
    "gt": (("x", "y"), {}, _compare(np.greater)),
    "gte": (("x", "y"), {}, _compare(np.greater_equal)),
    "and": (("x", "y"), {}, _and),
    "or": (("x", "y"), {}, _or),
    "not": (("x",), {}, _not),
    "if": (("value", "accept", "reject?"), {}, _if),
    "absolute": (("x",), {}, _unary(np.abs)),
    "sqrt": (("x",), {}, _unary(np.sqrt)),
    "exp": (("p",), {}, _unary(np.exp)),
    "ln": (("x",), {}, _unary(np.log)),
}


def write_value(out: np.ndarray, value: Any) -> None:
    if isinstance(value, NullableBool):
        out[...] = value.value
        if value.null is not None:
            out[value.null] = np.nan
    else:
        out[...] = value


def value_dtype(value: Any) -> np.dtype[Any]:
    if isinstance(value, NullableBool):
        return np.dtype(np.float32 if value.null is not None else bool)
    return np.asarray(value).dtype

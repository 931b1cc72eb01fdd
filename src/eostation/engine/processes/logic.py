"""Boolean logic with null (three-valued, Kleene) semantics: and, or, xor, not, if, any, all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import LabeledArray, numeric_view, to_python
from eostation.engine.registry import process
from eostation.engine.schema import AnyValue, BooleanOrNull, Param
from eostation.engine.vectorize import as_bool_array, elementwise, fused, has_nan, is_array, select

_LOGIC = ("logic",)
BoolArray = Annotated[Any, Param({"type": "array", "items": {"type": ["boolean", "null"]}})]
Bool = Annotated[bool, Param({"type": "boolean"})]


def _as_float(value: Any) -> Any:
    """Booleans (nullable or not) as float 1/0 with NaN for null, for array logic."""
    if isinstance(value, (xr.DataArray, np.ndarray)):
        return value.astype(float) if value.dtype.kind != "f" else value
    return np.nan if value is None else float(value)


def _array_logic(kernel: Any, *args: Any) -> Any:
    def run(*arrays: Any) -> Any:
        out = kernel(*[_as_float(a) for a in arrays])
        return out

    return elementwise(run, *args)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_


def _kleene(x: Any, y: Any, conjunction: bool, generic: Callable[[Any, Any], Any]) -> Any:
    """``and``/``or`` of nullable booleans, one kernel per chunk on numeric cubes.

    Both boolean: plain ``logical_and``/``logical_or``, still boolean. Otherwise float32
    1/0 with NaN for null, as ``_array_logic`` gives for nullable booleans (1/0/NaN):
    false (``and``) or true (``or``) decides regardless of the other operand, else null
    wins. Chunks without NaN skip the null handling. Operands other than numeric cubes
    and scalars go through ``generic`` (on floats) instead.
    """
    decisive = np.logical_and if conjunction else np.logical_or

    def block(a: Any, b: Any) -> Any:
        if _is_bool(a) and _is_bool(b):
            return decisive(a, b)
        out = np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)), dtype=np.float32)
        decisive(a, b, out=out)  # straight into float32, no boolean temporary
        a_null, b_null = has_nan(a), has_nan(b)
        if a_null or b_null:
            na, nb = np.isnan(a), np.isnan(b)
            if conjunction:
                decided = (np.asarray(a) == 0) | (np.asarray(b) == 0)
            else:
                decided = (np.asarray(a) != 0) & ~na | (np.asarray(b) != 0) & ~nb
            np.copyto(out, np.float32(np.nan), where=(na | nb) & ~decided)
        return out

    def run(a: Any, b: Any) -> Any:
        dtype = bool if _is_bool(a) and _is_bool(b) else np.float32
        out = fused(block, dtype, a, b)
        return generic(_as_float(a), _as_float(b)) if out is None else out

    return elementwise(run, x, y)


@process("and", categories=_LOGIC)
def and_(x: BooleanOrNull, y: BooleanOrNull) -> BooleanOrNull:
    """Logical conjunction: true when both are true; false wins over null.

    Args:
        x: A boolean.
        y: A boolean.

    Returns:
        ``x AND y`` (null when undecided).
    """
    if is_array(x) or is_array(y):
        return _kleene(x, y, True, lambda a, b: select((a == 0) | (b == 0), 0.0, a * b))
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    return bool(x and y)


@process("or", categories=_LOGIC)
def or_(x: BooleanOrNull, y: BooleanOrNull) -> BooleanOrNull:
    """Logical disjunction: true when either is true; true wins over null.

    Args:
        x: A boolean.
        y: A boolean.

    Returns:
        ``x OR y`` (null when undecided).
    """
    if is_array(x) or is_array(y):
        return _kleene(x, y, False, lambda a, b: select((a == 1) | (b == 1), 1.0, a + b))
    if x is True or y is True:
        return True
    if x is None or y is None:
        return None
    return bool(x or y)


@process("xor", categories=_LOGIC)
def xor(x: BooleanOrNull, y: BooleanOrNull) -> BooleanOrNull:
    """Exclusive or: true when exactly one is true; null when either is null.

    Args:
        x: A boolean.
        y: A boolean.

    Returns:
        ``x XOR y``.
    """
    if is_array(x) or is_array(y):
        return _array_logic(lambda a, b: abs(a - b), x, y)
    if x is None or y is None:
        return None
    return bool(x) != bool(y)


@process("not", categories=_LOGIC)
def not_(x: BooleanOrNull) -> BooleanOrNull:
    """Logical negation; null stays null.

    Args:
        x: A boolean.

    Returns:
        ``NOT x``.
    """
    if is_array(x):
        if _is_bool(x.data if isinstance(x, LabeledArray) else x):  # no nulls: stays boolean
            return elementwise(np.logical_not, x)
        return _array_logic(lambda a: 1.0 - a, x)
    return None if x is None else not x


@process("if", categories=("logic", "comparison", "masks"))
def if_(value: BooleanOrNull, accept: AnyValue, reject: AnyValue = None) -> AnyValue:
    """Choose between two values by a condition.

    On arrays and cubes the choice is made element by element; null counts as false.

    Args:
        value: The condition.
        accept: Returned where the condition is true.
        reject: Returned where the condition is false or null.

    Returns:
        ``accept`` or ``reject``.
    """
    if is_array(value):
        return elementwise(
            lambda c, a, r: select(as_bool_array(c), a, r),
            value,
            accept,
            reject,
            null_in_null_out=False,
        )
    return accept if value is True else reject


def _any_all(data: Any, ignore_nodata: bool, decisive: float) -> Any:
    """``any`` (decisive = true) and ``all`` (decisive = false) along the array axis."""
    array, dim, plain = numeric_view(data)
    values = array.astype(float) if array.dtype.kind != "f" else array
    hit = (values == decisive).any(dim)
    count = values.count(dim)
    if ignore_nodata:
        out = select(count == 0, np.nan, select(hit, decisive, 1.0 - decisive))
    else:
        undecided = values.isnull().any(dim) | (count == 0)
        out = select(hit, decisive, select(undecided, np.nan, 1.0 - decisive))
    if plain:
        result = to_python(out)
        return None if result is None else bool(result)
    return out


@process("any", categories=("logic", "reducer"))
def any_(data: BoolArray, ignore_nodata: Bool = True) -> BooleanOrNull:
    """Whether at least one element is true.

    Args:
        data: Booleans.
        ignore_nodata: Skip null elements; otherwise a null makes an undecided result null.

    Returns:
        True if any element is true; null for an empty array.
    """
    return _any_all(data, ignore_nodata, 1.0)


@process("all", categories=("logic", "reducer"))
def all_(data: BoolArray, ignore_nodata: Bool = True) -> BooleanOrNull:
    """Whether every element is true.

    Args:
        data: Booleans.
        ignore_nodata: Skip null elements; otherwise a null makes an undecided result null.

    Returns:
        True if no element is false; null for an empty array.
    """
    return _any_all(data, ignore_nodata, 0.0)

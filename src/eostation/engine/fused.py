"""Element-wise callbacks run as one kernel per chunk, on cache-sized slabs.

A callback such as the cloud mask ``SCL == 3 or SCL == 8 or ...`` evaluated on a lazy
cube adds one dask layer per process. Dask fuses them into one task per chunk, yet each
step still reads and writes the whole chunk (tens of MB, beyond every CPU cache, in
freshly faulted memory), and a nullable boolean — float32 1/0 with NaN for null, the
engine's common currency — costs several passes per ``eq`` or ``or``.

For callbacks made only of the simple element-wise processes in :data:`KERNELS`
(arithmetic, comparisons, Kleene logic, ``array_element`` on the reduced dimension),
:func:`fused_callback` compiles the graph into a list of numpy steps and runs them
slab by slab (:data:`SLAB_CELLS` values at a time) inside one task per chunk. Inside,
a nullable boolean is a pair of ``bool`` arrays (value, null) and the null mask of an
input is computed once per slab, however many comparisons read it.

The result must be the value the ordinary evaluation gives, bit for bit: every compiled
kernel is run once on a sample of awkward values (NaN, ±inf, 0, the cube's dtype) next
to the ordinary evaluation, and any difference in value or dtype falls back to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from eostation.engine.graph import PREDEFINED_NAMESPACES, ProcessGraph

__all__ = ["KERNELS", "SLAB_CELLS", "fused_callback"]

_log = logging.getLogger("eostation.engine")

SLAB_CELLS = 1 << 16
"""Values per input slab: 256 KiB of float32, so a step's operands stay in cache."""


@dataclass(frozen=True)
class _Bool:
    """A nullable boolean: ``value`` is False wherever ``null`` is True."""

    value: np.ndarray
    null: np.ndarray | None


class _Slab:
    """The inputs of one slab, with each float input's null mask computed once."""

    def __init__(self, inputs: Sequence[np.ndarray]) -> None:
        self.inputs = inputs
        # id -> (the array, its mask): holding the array keeps its id from being reused
        self._nulls: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def null(self, value: Any) -> np.ndarray | None:
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
    """A nullable boolean as numpy arithmetic sees it (float32 1/0/NaN)."""
    if not isinstance(value, _Bool):
        return value
    if value.null is None:
        return value.value
    out = value.value.astype(np.float32)
    out[value.null] = np.nan
    return out


def _truth(value: Any, slab: _Slab) -> _Bool:
    """A number or nullable boolean as a :class:`_Bool` (non-zero is true)."""
    if isinstance(value, _Bool):
        return value
    null = slab.null(value)
    truth = np.asarray(value != 0)
    return _Bool(truth & ~null if null is not None else truth, null)


def _arithmetic(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def step(slab: _Slab, x: Any, y: Any) -> Any:
        with np.errstate(all="ignore"):
            return op(_number(x), _number(y))

    return step


def _compare(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def step(slab: _Slab, x: Any, y: Any) -> _Bool:
        x, y = _number(x), _number(y)
        with np.errstate(all="ignore"):
            value = np.asarray(op(x, y))
        return _Bool(value, _either(slab.null(x), slab.null(y)))

    return step


def _or(slab: _Slab, x: Any, y: Any) -> _Bool:
    a, b = _truth(x, slab), _truth(y, slab)
    value = a.value | b.value
    null = _either(a.null, b.null)
    return _Bool(value, None if null is None else null & ~value)


def _and(slab: _Slab, x: Any, y: Any) -> _Bool:
    a, b = _truth(x, slab), _truth(y, slab)
    value = a.value & b.value
    if a.null is None and b.null is None:
        return _Bool(value, None)
    undecided_a = a.value if a.null is None else a.value | a.null
    undecided_b = b.value if b.null is None else b.value | b.null
    null = np.zeros_like(value)
    if a.null is not None:
        null |= a.null & undecided_b
    if b.null is not None:
        null |= b.null & undecided_a
    return _Bool(value, null)


def _not(slab: _Slab, x: Any) -> _Bool:
    a = _truth(x, slab)
    return _Bool(~a.value if a.null is None else ~(a.value | a.null), a.null)


def _normalized_difference(slab: _Slab, x: Any, y: Any) -> Any:
    x, y = _number(x), _number(y)
    with np.errstate(all="ignore"):
        return np.true_divide(x - y, x + y)


# process id -> (argument names in call order, optional arguments that must be absent or
# hold their default, the step).
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
}

_Operand = tuple[str, Any]  # ("input", i) | ("node", id) | ("const", value)
_Step = tuple[str, Callable[..., Any], tuple[_Operand, ...]]


class _Unsupported(Exception):
    pass


def _operand(raw: Any, scope: Mapping[str, Any], inputs: Mapping[str, int]) -> _Operand:
    if isinstance(raw, Mapping) and "from_node" in raw:
        return ("node", raw["from_node"])
    if isinstance(raw, Mapping) and "from_parameter" in raw:
        name = raw["from_parameter"]
        if name in inputs:
            return ("input", inputs[name])
        raw = scope.get(name)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return ("const", raw)
    raise _Unsupported(f"operand {raw!r}")


def _band(
    node_args: Mapping[str, Any], data: str, labels: Sequence[Any] | None, scope: Mapping[str, Any]
) -> int:
    """The input index that ``array_element(data, index|label)`` picks, at compile time."""
    if node_args.get("data") != {"from_parameter": data} or set(node_args) - {
        "data",
        "index",
        "label",
        "return_nodata",
    }:
        raise _Unsupported("array_element of something else")
    index, label = node_args.get("index"), node_args.get("label")
    if isinstance(label, Mapping) or isinstance(index, Mapping):
        raise _Unsupported("computed index")
    if label is not None and index is None and labels is not None and label in labels:
        return list(labels).index(label)
    size = len(labels) if labels is not None else -1
    position = index if isinstance(index, int) and not isinstance(index, bool) else -1
    if label is None and 0 <= position < size:
        return position
    raise _Unsupported("an element that may not exist")  # the ordinary path raises


def _compile(
    graph: ProcessGraph,
    scope: Mapping[str, Any],
    inputs: Mapping[str, int],
    data: str | None,
    labels: Sequence[Any] | None,
) -> list[_Step]:
    steps: list[_Step] = []
    bands: dict[str, int] = {}
    for node_id in graph.order:
        node = graph.nodes[node_id]
        if node.namespace not in (None, *PREDEFINED_NAMESPACES):
            raise _Unsupported(node.process_id)
        if node.process_id == "array_element" and data is not None:
            bands[node_id] = _band(node.arguments, data, labels, scope)
            continue
        if node.process_id not in KERNELS:
            raise _Unsupported(node.process_id)
        names, defaults, kernel = KERNELS[node.process_id]
        if set(node.arguments) - set(names) - set(defaults):
            raise _Unsupported("extra arguments")
        if any(node.arguments.get(k, v) != v for k, v in defaults.items()):
            raise _Unsupported("non-default options")
        if any(name not in node.arguments for name in names):
            raise _Unsupported("missing argument")
        operands = []
        for name in names:
            op = _operand(node.arguments[name], scope, inputs)
            if op[0] == "node" and op[1] in bands:
                op = ("input", bands[op[1]])
            operands.append(op)
        steps.append((node_id, kernel, tuple(operands)))
    if not steps or steps[-1][0] != graph.result:
        raise _Unsupported("the result is not a computed step")
    return steps


def _execute(steps: list[_Step], inputs: Sequence[np.ndarray]) -> Any:
    slab = _Slab(inputs)
    values: dict[str, Any] = {}

    def fetch(operand: _Operand) -> Any:
        kind, ref = operand
        return inputs[ref] if kind == "input" else values[ref] if kind == "node" else ref

    for node_id, kernel, operands in steps:
        values[node_id] = kernel(slab, *(fetch(o) for o in operands))
    return values[steps[-1][0]]


def _write(out: np.ndarray, value: Any) -> None:
    if isinstance(value, _Bool):
        out[...] = value.value
        if value.null is not None:
            out[value.null] = np.nan
    else:
        out[...] = value


def _raw_dtype(value: Any) -> np.dtype[Any]:
    if isinstance(value, _Bool):
        return np.dtype(np.float32 if value.null is not None else bool)
    return np.asarray(value).dtype


def _sample(dtype: np.dtype[Any], count: int, size: int) -> list[np.ndarray]:
    """``count`` arrays of ``size`` awkward values of ``dtype``, in varied combinations."""
    if dtype.kind == "f":
        pool = [np.nan, 0, 1, -1, 2, 3, 8, 9, 10, 0.5, -0.25, np.inf, -np.inf, 1e-3, 1e4]
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        pool = sorted({max(info.min, v) for v in (0, 1, 2, 3, 8, 9, 10, 255, -1)} | {info.max})
    else:
        raise _Unsupported(f"dtype {dtype}")
    rng = np.random.default_rng(0)
    return [np.asarray(rng.choice(pool, size), dtype=dtype) for _ in range(count)]


def fused_callback(
    cube: xr.DataArray,
    callback: Any,
    ordinary: Callable[[xr.DataArray], xr.DataArray],
    *,
    dimension: str | None = None,
) -> xr.DataArray | None:
    """The callback over a dask-backed ``cube`` as one fused kernel per chunk, or None.

    ``callback`` is the :class:`~eostation.engine.evaluate.ChildGraph`; with
    ``dimension`` it is a reducer seeing the values along it as ``data``, without it an
    ``apply`` process seeing each value as ``x``. ``ordinary(block)`` evaluates it the
    usual way on a numpy-backed block shaped like ``cube``, returning the result cube
    (dimensions in ``cube``'s order, ``dimension`` dropped); it checks the compiled kernel.
    None when the cube is not dask-backed, the callback has something the kernels do not
    cover, or the check finds a difference.
    """
    graph, scope = getattr(callback, "graph", None), getattr(callback, "scope", {})
    if cube.chunks is None or not isinstance(graph, ProcessGraph) or len(graph.nodes) < 2:
        return None
    labels = None
    if dimension is not None and dimension in cube.coords:
        labels = [v.item() if isinstance(v, np.generic) else v for v in cube[dimension].values]
    try:
        if dimension is None:
            steps = _compile(graph, scope, {"x": 0}, None, None)
        else:
            steps = _compile(graph, scope, {}, "data", labels)
        dtype = _check(cube, steps, ordinary, dimension)
    except _Unsupported as why:
        _log.debug("callback not fused: %s", why)
        return None
    return _blockwise(cube, steps, dimension, dtype)


def _check(
    cube: xr.DataArray,
    steps: list[_Step],
    ordinary: Callable[[xr.DataArray], xr.DataArray],
    dimension: str | None,
) -> np.dtype[Any]:
    """The result dtype, after comparing the kernel with the ordinary evaluation."""
    count = cube.sizes[dimension] if dimension is not None else 1
    size = 512
    columns = _sample(cube.dtype, count, size)
    others = [i for i, d in enumerate(cube.dims) if d != dimension]
    if not others:
        raise _Unsupported("a cube of that dimension alone")
    shape = [1] * cube.ndim
    shape[others[-1]] = size
    if dimension is not None:
        axis = cube.dims.index(dimension)
        shape[axis] = count
        flat = [s for i, s in enumerate(shape) if i != axis]
        values = np.stack([c.reshape(flat) for c in columns], axis=axis)
        inputs = [_plane(values, axis, i) for i in range(count)]
    else:
        values = columns[0].reshape(shape)
        inputs = [values]
    coords = {dimension: cube.coords[dimension].values} if dimension in cube.coords else {}
    block = xr.DataArray(values, dims=cube.dims, coords=coords, attrs=dict(cube.attrs))
    expected = np.asarray(ordinary(block).values)
    got = _execute(steps, inputs)
    if _raw_dtype(got) != expected.dtype:
        raise _Unsupported(f"dtype {_raw_dtype(got)} where {expected.dtype} is expected")
    out = np.empty(expected.shape, dtype=expected.dtype)
    _write(out, got)
    if not np.array_equal(out, expected, equal_nan=expected.dtype.kind in "fc"):
        raise _Unsupported("values differ from the ordinary evaluation")
    return expected.dtype


def _plane(array: np.ndarray, axis: int, i: int) -> np.ndarray:
    """Element ``i`` along ``axis`` of ``array``, a view."""
    index: tuple[Any, ...] = (*(slice(None),) * axis, i)
    plane: np.ndarray = array[index]
    return plane


def _blockwise(
    cube: xr.DataArray, steps: list[_Step], dimension: str | None, dtype: np.dtype[Any]
) -> xr.DataArray:
    axis = cube.dims.index(dimension) if dimension is not None else None
    indices = tuple(range(cube.ndim))
    out_indices = tuple(i for i in indices if i != axis)

    def kernel(blocks: Any) -> np.ndarray:
        parts: list[np.ndarray] = blocks if axis is not None else [blocks]
        if axis is not None:
            inputs = [_plane(p, axis, i) for p in parts for i in range(p.shape[axis])]
        else:
            inputs = parts
        shape = inputs[0].shape
        out = np.empty(shape, dtype=dtype)
        along = next((i for i, s in enumerate(shape) if s > 1), 0)
        per_row = max(1, int(np.prod(shape)) // max(shape[along], 1)) if shape else 1
        step = max(1, SLAB_CELLS // per_row)
        for start in range(0, shape[along] if shape else 1, step):
            index = (slice(None),) * along + (slice(start, start + step),)
            _write(out[index], _execute(steps, [x[index] for x in inputs]))
        return out

    data = da.blockwise(
        kernel,
        out_indices,
        cube.data,
        indices,
        concatenate=False if axis is not None else None,
        dtype=dtype,
        meta=np.empty((0,) * len(out_indices), dtype=dtype),
        token="fused-callback",
    )
    dims = tuple(d for d in cube.dims if d != dimension)
    coords = {n: c for n, c in cube.coords.items() if dimension is None or dimension not in c.dims}
    return xr.DataArray(data, dims=dims, coords=coords, attrs=dict(cube.attrs), name=cube.name)

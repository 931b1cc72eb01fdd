"""Element-wise callbacks run as one kernel per chunk, on cache-sized slabs.

A callback such as the cloud mask ``SCL == 3 or SCL == 8 or ...`` evaluated on a lazy
cube adds one dask layer per process. Dask fuses them into one task per chunk, yet each
step still reads and writes the whole chunk (tens of MB, beyond every CPU cache, in
freshly faulted memory), and a nullable boolean — float32 1/0 with NaN for null, the
engine's common currency — costs several passes per ``eq`` or ``or``.

For callbacks made only of the simple element-wise processes in :data:`KERNELS`
(arithmetic, comparisons, Kleene logic, ``if``, ``absolute``, ``sqrt``, ``exp``, ``ln``,
and ``array_element`` on the reduced dimension; see :mod:`eostation.engine.fused_steps`),
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
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from eostation.engine.fused_steps import KERNELS, Slab, value_dtype, write_value
from eostation.engine.graph import PREDEFINED_NAMESPACES, ProcessGraph

__all__ = ["KERNELS", "SLAB_CELLS", "fused_callback"]

_log = logging.getLogger("eostation.engine")

SLAB_CELLS = 1 << 16
"""Values per input slab: 256 KiB of float32, so a step's operands stay in cache."""


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
    if raw is None or (isinstance(raw, (int, float)) and not isinstance(raw, bool)):
        return ("const", raw)
    raise _Unsupported(f"operand {raw!r}")


def _band(node_args: Mapping[str, Any], data: str, labels: Sequence[Any] | None) -> int:
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
            bands[node_id] = _band(node.arguments, data, labels)
            continue
        if node.process_id not in KERNELS:
            raise _Unsupported(node.process_id)
        names, defaults, kernel = KERNELS[node.process_id]
        keys = [name.rstrip("?") for name in names]
        if set(node.arguments) - set(keys) - set(defaults):
            raise _Unsupported("extra arguments")
        if any(node.arguments.get(k, v) != v for k, v in defaults.items()):
            raise _Unsupported("non-default options")
        if any(name not in node.arguments for name in names if not name.endswith("?")):
            raise _Unsupported("missing argument")
        operands = []
        for key in keys:
            op = _operand(node.arguments.get(key), scope, inputs)
            if op[0] == "node" and op[1] in bands:
                op = ("input", bands[op[1]])
            operands.append(op)
        steps.append((node_id, kernel, tuple(operands)))
    if not steps or steps[-1][0] != graph.result:
        raise _Unsupported("the result is not a computed step")
    return steps


def _execute(steps: list[_Step], inputs: Sequence[np.ndarray]) -> Any:
    slab = Slab(inputs)
    values: dict[str, Any] = {}

    def fetch(operand: _Operand) -> Any:
        kind, ref = operand
        return inputs[ref] if kind == "input" else values[ref] if kind == "node" else ref

    for node_id, kernel, operands in steps:
        values[node_id] = kernel(slab, *(fetch(o) for o in operands))
    return values[steps[-1][0]]


def _sample(dtype: np.dtype[Any], count: int, size: int) -> list[np.ndarray]:
    """``count`` arrays of ``size`` awkward values of ``dtype``, in varied combinations."""
    if dtype.kind == "f":
        pool = [np.nan, 0, 1, -1, 2, 3, 8, 9, 10, 0.5, -0.25, np.inf, -np.inf, 1e-3, 1e4]
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        common = (-1, 0, 1, 2, 3, 8, 9, 10, 255, info.min, info.max)
        pool = sorted({v for v in common if info.min <= v <= info.max})
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
    try:
        got = _execute(steps, inputs)
    except Exception as exc:  # a kernel unfit for these operands: the ordinary path runs
        raise _Unsupported(f"{type(exc).__name__}: {exc}") from exc
    if value_dtype(got) != expected.dtype:
        raise _Unsupported(f"dtype {value_dtype(got)} where {expected.dtype} is expected")
    out = np.empty(expected.shape, dtype=expected.dtype)
    write_value(out, got)
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
        shape = inputs[0].shape  # at least one dimension: _check refuses a 1-D reduction
        out = np.empty(shape, dtype=dtype)
        along = next((i for i, s in enumerate(shape) if s > 1), 0)
        per_row = max(1, int(np.prod(shape)) // max(shape[along], 1))
        step = max(1, SLAB_CELLS // per_row)
        for start in range(0, shape[along], step):
            index = (slice(None),) * along + (slice(start, start + step),)
            write_value(out[index], _execute(steps, [x[index] for x in inputs]))
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

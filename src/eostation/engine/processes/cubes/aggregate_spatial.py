"""``aggregate_spatial``: zonal statistics of a raster cube over geometries → vector cube.

The geometries are reprojected to the cube's CRS; per spatial chunk, a task turns them
into a sparse geometry × pixel membership (:mod:`.zonal`), reused for every date and
band of that chunk, so the graph holds the geometries once rather than the matrices,
and the workers build them while the first chunks are read. The cube is reduced chunk
by chunk: each dask chunk yields small partial statistics per
geometry, the partials of one stack of images are merged, so the cube is never
loaded whole and the result stays lazy. ``mean``, ``sum``, ``count``, ``min``,
``max``, ``median``, ``sd`` and ``variance`` (single-process reducers) run this way;
any other reducer is called once per geometry with the geometry's pixel values as a
:class:`LabeledArray` along the pixel axis (batched over the other dimensions), after
the pixel values are gathered.

:func:`spatial_hint` tells a pushdown pass which area the geometries need, so that
``load_collection`` can load only their bounds.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Annotated, Any, cast

import dask.array as da
import numpy as np
import shapely
import xarray as xr
from dask.base import compute, tokenize
from dask.delayed import delayed

from eostation.engine.context import Callback
from eostation.engine.cube import spatial_dims
from eostation.engine.labeled import ARRAY_DIM, LabeledArray
from eostation.engine.processes.cubes import zonal
from eostation.engine.processes.cubes.geometries import (
    GEOMETRIES_DIM,
    GeometrySet,
    cube_crs,
    geometry_set,
    vector_cube,
)
from eostation.engine.processes.cubes.schemas import VECTOR, RasterCube, VectorCube
from eostation.engine.pushdown import Narrowing, register_rule
from eostation.engine.registry import process
from eostation.engine.schema import Context, Param, callback_schema, cb_param
from eostation.errors import ProcessParameterInvalid

__all__ = ["aggregate_spatial", "geometry_narrowing", "reduce_over_geometries", "spatial_hint"]

_GEOMETRIES = Annotated[
    Any,
    Param(
        [
            VECTOR,
            {"type": "object", "subtype": "geojson", "deprecated": True},
        ]
    ),
]
_REDUCER = Annotated[
    Callback,
    Param(
        callback_schema(
            [
                cb_param(
                    "data",
                    "The values of the pixels counted for one geometry.",
                    {"type": "array", "items": {}},
                ),
                cb_param("context", "The `context` argument.", {}, default=None),
            ],
            {},
            "The value for the geometry.",
        )
    ),
]


def spatial_hint(geometries: Any) -> tuple[tuple[float, float, float, float], int] | None:
    """``((west, south, east, north), 4326)`` that ``aggregate_spatial`` over
    ``geometries`` reads, for narrowing ``load_collection``; None when unknown."""
    try:
        bounds = geometry_set(geometries, "aggregate_spatial", "geometries").bounds()
    except ProcessParameterInvalid:
        raise  # e.g. swapped lon/lat: say so now, not "give a bounding box" at the load
    except Exception:
        return None
    return (bounds, 4326) if bounds is not None else None


def geometry_narrowing(geometries: Any, *, exact: bool = True) -> Narrowing | None:
    """The pushdown narrowing of a process that reads only the bounds of ``geometries``
    (padded by ~20 m for the closest-centre rule); None when they are not usable."""
    hint = spatial_hint(geometries)
    if hint is None:
        return None
    (west, south, east, north), crs = hint
    pad = 2e-4
    return Narrowing(bbox=(west - pad, south - pad, east + pad, north + pad), crs=crs, exact=exact)


@register_rule("aggregate_spatial", passes_through=False)
def _narrowing(arguments: Mapping[str, Any]) -> Narrowing | None:
    return geometry_narrowing(arguments.get("geometries"))


def _fast_reducer(reducer: Callback) -> tuple[str, bool, bool] | None:
    """``(name, ignore_nodata, count_all)`` when ``reducer`` is a bare fast-path process."""
    single = getattr(reducer, "single_process", None)
    found = single() if callable(single) else None
    if found is None:
        return None
    name, arguments = found
    if name not in zonal.FAST_REDUCERS or arguments.get("data") != {"from_parameter": "data"}:
        return None
    ignore = arguments.get("ignore_nodata", True)
    condition = arguments.get("condition")
    extra = set(arguments) - {"data", "ignore_nodata", "condition", "context"}
    if extra or not isinstance(ignore, bool) or condition not in (None, True):
        return None
    if name != "count" and condition is not None:
        return None
    return name, ignore, condition is True


def _as_dask(cube: xr.DataArray) -> da.Array:
    if isinstance(cube.data, da.Array):
        return cube.data
    return cast(
        da.Array, da.from_array(np.asarray(cube.data), chunks=(*cube.shape[:-2], 1024, 1024))
    )


def reduce_over_geometries(
    cube: xr.DataArray,
    geometries: GeometrySet,
    reducer: Callback,
    context: Any = None,
) -> tuple[xr.DataArray, da.Array, xr.DataArray]:
    """Values, total pixel counts ``(geometries,)`` and valid counts, lazy.

    Which pixels count for which geometry is decided per spatial chunk, by a task that
    reads the geometries (one key in the graph) and the grid's axes: the graph carries
    no membership matrices, and that work runs on the workers, alongside the reads,
    instead of before the first one. A chunk that no geometry reaches is not read.
    """
    ydim, xdim = spatial_dims(cube)
    others = [d for d in cube.dims if d not in (ydim, xdim)]
    cube = cube.transpose(*others, ydim, xdim)
    local = geometries.to_crs(cube_crs(cube))
    n_geoms = len(local)
    ys = np.asarray(cube[ydim].values, dtype=np.float64)
    xs = np.asarray(cube[xdim].values, dtype=np.float64)
    fast = _fast_reducer(reducer)
    name = fast[0] if fast else "generic"
    want = zonal.needs(name)
    array = _as_dask(cube)
    chunks = array.chunks
    n_other_blocks = [len(c) for c in chunks[:-2]]
    y_edges = np.cumsum((0, *chunks[-2]))
    x_edges = np.cumsum((0, *chunks[-1]))
    blocks = array.to_delayed()
    wkb = shapely.to_wkb(local.geometries).tolist()
    token = tokenize(wkb, ys, xs)
    shapes = delayed(local.geometries, name=f"geometries-{token}")
    axes = (delayed(ys, name=f"y-axis-{token}"), delayed(xs, name=f"x-axis-{token}"))
    reached = zonal.reach(local.geometries, ys, xs)
    matrices: dict[tuple[int, int], Any] = {}
    for iy, ix in itertools.product(range(len(chunks[-2])), range(len(chunks[-1]))):
        rows = range(int(y_edges[iy]), int(y_edges[iy + 1]))
        cols = range(int(x_edges[ix]), int(x_edges[ix + 1]))
        if zonal.may_touch(reached, ys[rows.start : rows.stop], xs[cols.start : cols.stop]).any():
            matrices[iy, ix] = delayed(zonal.block_membership)(
                shapes, *axes, rows, cols, dask_key_name=f"membership-{token}-{iy}-{ix}"
            )
    totals = delayed(_totals)(n_geoms, *matrices.values(), dask_key_name=f"totals-{token}")
    total = da.from_delayed(totals, shape=(n_geoms,), dtype=np.int64)
    stats = delayed(zonal.block_stats, pure=True)
    merge = delayed(zonal.combine, pure=True)
    empty_partial = delayed(_empty_partial, pure=True)
    grid: dict[tuple[int, ...], Any] = {}
    for other in itertools.product(*(range(n) for n in n_other_blocks)):
        shape = tuple(chunks[d][i] for d, i in enumerate(other))
        partials = [stats(blocks[(*other, iy, ix)], m, want) for (iy, ix), m in matrices.items()]
        grid[other] = (
            (merge(partials) if partials else empty_partial(n_geoms, int(np.prod(shape)), want)),
            shape,
        )
    n_obj = delayed(_valid_counts, pure=True)
    valid = _assemble({k: (n_obj(p), s) for k, (p, s) in grid.items()}, n_geoms, n_other_blocks)
    if fast is not None:
        finish = delayed(_finish_fast, pure=True)
        values = _assemble(
            {k: (finish(fast, p, totals), s) for k, (p, s) in grid.items()},
            n_geoms,
            n_other_blocks,
        )
    else:
        values = _generic(grid, reducer, context, cube, others, n_geoms, n_other_blocks)
    coords = {d: cube.coords[d] for d in others if d in cube.coords}
    dims = (GEOMETRIES_DIM, *others)

    def as_cube(a: da.Array) -> xr.DataArray:
        return xr.DataArray(a, dims=dims, coords=coords)

    return as_cube(values), total, as_cube(valid)


def _totals(n_geometries: int, *matrices: Any) -> np.ndarray:
    """Pixels counted per geometry over all blocks (valid or not)."""
    out = np.zeros(n_geometries, dtype=np.int64)
    for matrix in matrices:
        out += np.diff(matrix.indptr)
    return out


def _valid_counts(partial: zonal.Partial) -> Any:
    return partial["n"]


def _empty_partial(g: int, k: int, want: frozenset[str]) -> zonal.Partial:
    out: zonal.Partial = {"n": np.zeros((g, k))}
    for key, fill in (("sum", 0.0), ("m2", 0.0), ("min", np.inf), ("max", -np.inf)):
        if key in want:
            out[key] = np.full((g, k), fill)
    if "values" in want:
        out["rows"] = np.empty(0, dtype=np.int64)
        out["values"] = np.empty((0, k))
    return out


def _finish_fast(fast: tuple[str, bool, bool], partial: zonal.Partial, total: np.ndarray) -> Any:
    name, ignore_nodata, count_all = fast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return zonal.finish(name, partial, total, ignore_nodata, count_all)


def _assemble(
    grid: Mapping[tuple[int, ...], tuple[Any, tuple[int, ...]]],
    n_geometries: int,
    n_blocks: Sequence[int],
) -> da.Array:
    """One dask array ``(geometries, *other)`` from delayed ``(geometries, k)`` pieces."""

    def piece(index: tuple[int, ...]) -> da.Array:
        value, shape = grid[index]
        flat: da.Array = da.from_delayed(
            value, shape=(n_geometries, int(np.prod(shape))), dtype=np.float64
        )
        return cast(da.Array, flat.reshape((n_geometries, *shape)))

    def nest(prefix: tuple[int, ...]) -> Any:
        if len(prefix) == len(n_blocks):
            return piece(prefix)
        return [nest((*prefix, i)) for i in range(n_blocks[len(prefix)])]

    if not n_blocks:
        return piece(())
    # da.block joins the innermost lists along the last axis, the outermost along axis 1.
    return cast(da.Array, da.block(nest(())))


def _generic(
    grid: Mapping[tuple[int, ...], tuple[Any, tuple[int, ...]]],
    reducer: Callback,
    context: Any,
    cube: xr.DataArray,
    others: Sequence[Hashable],
    n_geometries: int,
    n_blocks: Sequence[int],
) -> da.Array:
    """Call ``reducer`` per geometry on its gathered pixel values (computes the gather)."""
    keys = list(grid)
    computed = compute(*(grid[k][0] for k in keys))
    edges = [np.cumsum((0, *c)) for c in _as_dask(cube).chunks[:-2]]
    results: dict[tuple[int, ...], tuple[Any, tuple[int, ...]]] = {}
    for key, partial in zip(keys, computed, strict=True):
        shape = grid[key][1]
        sel = {
            d: slice(int(edges[i][key[i]]), int(edges[i][key[i] + 1])) for i, d in enumerate(others)
        }
        coords = {d: cube[d].values[sel[d]] for d in others if d in cube.coords}
        out = np.full((n_geometries, *shape), np.nan)
        for g, seg in enumerate(zonal.gather_segments(partial, n_geometries)):
            if seg.shape[1] == 0:
                continue  # no pixel: no value (null), the reducer is not asked
            data = xr.DataArray(
                seg.reshape((*shape, seg.shape[1])), dims=(*others, ARRAY_DIM), coords=coords
            )
            value = reducer(data=LabeledArray(data, ARRAY_DIM), context=context)
            out[g] = _broadcast_value(value, others, shape)
        results[key] = (delayed(out.reshape(n_geometries, -1)), shape)
    return _assemble(results, n_geometries, n_blocks)


def _broadcast_value(value: Any, others: Sequence[Hashable], shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, LabeledArray):
        value = value.data
    if isinstance(value, xr.DataArray):
        extra = [d for d in value.dims if d not in others]
        if extra:
            raise ProcessParameterInvalid(
                process="aggregate_spatial",
                parameter="reducer",
                reason=f"the reducer must return one value per geometry, not an array along {extra}",
            )
        value = value.transpose(*[d for d in others if d in value.dims])
        return np.asarray(
            value.expand_dims([d for d in others if d not in value.dims]).transpose(*others).values,
            dtype=float,
        )
    return np.broadcast_to(np.asarray(np.nan if value is None else value, dtype=float), shape)


@process(
    "aggregate_spatial",
    categories=("cubes", "aggregate"),
    exceptions={"TargetDimensionExists": "A dimension with the target name exists."},
)
def aggregate_spatial(
    data: RasterCube,
    geometries: _GEOMETRIES,
    reducer: _REDUCER,
    target_dimension: str | None = None,
    context: Context = None,
) -> VectorCube:
    """Zonal statistics: reduce the pixels of each geometry to one value per date and band.

    A pixel counts for a polygon when its centre lies in the polygon or on its boundary,
    for a point when its centre is the closest one, and for a line when the line crosses
    the pixel; a pixel may count for several overlapping geometries. Geometries are
    reprojected to the cube's reference system; empty geometries and geometries without
    any pixel yield no-data (a count of 0 for `count`). Every dimension other than the
    spatial ones is kept.

    Args:
        data: A raster cube with spatial dimensions `x` and `y`.
        geometries: A vector cube or GeoJSON (geometry, Feature or FeatureCollection); one
            result per geometry or Feature, in the given order.
        reducer: Reduces the values of one geometry's pixels to one value, e.g. `mean`.
        target_dimension: When set, a new dimension with this name holds `value`,
            `total_count` (all pixels counted) and `valid_count` (pixels with data).
        context: Passed on to the reducer.

    Returns:
        A vector cube: the spatial dimensions replaced by `geometries` (labelled with the
        given geometries in their reference system).
    """
    if target_dimension is not None and target_dimension in data.dims:
        raise ProcessParameterInvalid(
            process="aggregate_spatial",
            parameter="target_dimension",
            reason=f"a dimension '{target_dimension}' exists already",
            exception="TargetDimensionExists",
        )
    geoms = geometry_set(geometries, "aggregate_spatial", "geometries")
    values, total, valid = reduce_over_geometries(data, geoms, reducer, context)
    attrs = {k: v for k, v in data.attrs.items() if k in ("collection", "nodata")}
    if target_dimension is not None:
        totals = xr.full_like(values, 0.0) + xr.DataArray(total, dims=(GEOMETRIES_DIM,))
        stacked = xr.concat([values, totals, valid], dim=target_dimension)
        stacked = stacked.assign_coords({target_dimension: ["value", "total_count", "valid_count"]})
        values = stacked.transpose(GEOMETRIES_DIM, ..., target_dimension)
    return vector_cube(
        geoms,
        values.data,
        dims=values.dims,
        coords={
            d: values.coords[d] for d in values.dims if d in values.coords and d != GEOMETRIES_DIM
        },
        attrs=attrs,
    )

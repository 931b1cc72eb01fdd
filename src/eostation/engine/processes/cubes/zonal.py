"""Zonal statistics kernels: which pixels belong to which geometry, and sums over them.

:func:`membership` decides once per geometry set and grid which pixels count for
which geometry, following the ``aggregate_spatial`` rules: a pixel counts for a
polygon when its *centre* intersects it (boundary included), for a point when its
centre is the closest one, for a line when its cell (the set of points closest to
its centre) touches the line. One pixel may count for several geometries, so the
result is a sparse geometry × pixel matrix, not a label raster. :func:`block_membership`
decides the same for one block of the grid (the task that needs it, on a worker), after
:func:`may_touch` has ruled out the geometries whose bounds cannot reach the block.

The data are reduced block by block (a block is one dask chunk: a stack of ``k``
images of ``h × w`` pixels). :func:`block_stats` turns a block into partial
statistics per geometry: valid counts and sums by sparse matrix products (float64),
minima and maxima by ``reduceat`` over the gathered pixels, and the sum of squared
deviations from the block mean for variances (combined with Chan's formula, which
stays accurate where ``Σx² − (Σx)²/n`` would cancel). :func:`combine` merges the
partials of all spatial blocks and :func:`finish` turns them into the reducer value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
import shapely
from numpy.typing import NDArray

__all__ = [
    "FAST_REDUCERS",
    "Membership",
    "Partial",
    "block_membership",
    "block_stats",
    "combine",
    "finish",
    "gather_segments",
    "may_touch",
    "membership",
    "reach",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

FAST_REDUCERS = frozenset({"mean", "sum", "count", "min", "max", "median", "sd", "variance"})
"""Reducers computed without calling the callback."""

_NEEDS: dict[str, frozenset[str]] = {
    "mean": frozenset({"sum"}),
    "sum": frozenset({"sum"}),
    "count": frozenset(),
    "min": frozenset({"min"}),
    "max": frozenset({"max"}),
    "median": frozenset({"values"}),
    "sd": frozenset({"sum", "m2"}),
    "variance": frozenset({"sum", "m2"}),
    "generic": frozenset({"values"}),
}


@dataclass(frozen=True)
class Membership:
    """Pixels (row ``iy``, column ``ix``) counted for each geometry, sorted by geometry."""

    geometry: Ints
    iy: Ints
    ix: Ints
    n_geometries: int
    shape: tuple[int, int]


def _resolution(coords: Floats) -> float:
    return float(abs(coords[1] - coords[0])) if coords.size > 1 else 1.0


def _parts(geometry: Any) -> list[Any]:
    """Polygons, lines and points of a geometry, collections flattened."""
    out: list[Any] = []
    stack = [geometry]
    while stack:
        g = stack.pop()
        if g is None or shapely.is_empty(g):
            continue
        if shapely.get_type_id(g) in (4, 5, 6, 7):  # Multi* and GeometryCollection
            stack.extend(shapely.get_parts(g).tolist())
        else:
            out.append(g)
    return out


def _window(coords: Floats, low: float, high: float, span: range) -> Ints:
    """Indices in ``span`` of the coordinates within ``[low, high]``."""
    part = coords[span.start : span.stop]
    return np.nonzero((part >= low) & (part <= high))[0].astype(np.int64) + span.start


def _pixels_of(geometry: Any, ys: Floats, xs: Floats, rows: range, cols: range) -> Ints:
    """Pixels counted for one geometry among rows ``rows`` × columns ``cols`` of the grid
    ``ys`` × ``xs``, as flat indices into that block (row-major).

    The whole axes are given so that a point takes the closest centre of the whole grid
    (on a tie the first one), whichever block asks.
    """
    width = len(cols)
    rx, ry = _resolution(xs), _resolution(ys)
    polygons: list[Any] = []
    found: list[Ints] = []
    for part in _parts(geometry):
        dim = shapely.get_dimensions(part)
        if dim == 2:
            polygons.append(part)
        elif dim == 1:
            minx, miny, maxx, maxy = shapely.bounds(part)
            wx = _window(xs, minx - rx / 2, maxx + rx / 2, cols)
            wy = _window(ys, miny - ry / 2, maxy + ry / 2, rows)
            if wx.size and wy.size:
                gx, gy = np.meshgrid(xs[wx], ys[wy])
                cells = shapely.box(gx - rx / 2, gy - ry / 2, gx + rx / 2, gy + ry / 2)
                hit = shapely.intersects(part, cells)
                iy, ix = np.meshgrid(wy - rows.start, wx - cols.start, indexing="ij")
                found.append(iy[hit] * width + ix[hit])
        else:
            px, py = shapely.get_x(part), shapely.get_y(part)
            ix_ = int(np.argmin(np.abs(xs - px)))
            iy_ = int(np.argmin(np.abs(ys - py)))
            near = abs(xs[ix_] - px) <= rx / 2 and abs(ys[iy_] - py) <= ry / 2
            if near and ix_ in cols and iy_ in rows:
                found.append(np.asarray([(iy_ - rows.start) * width + ix_ - cols.start]))
    if polygons:
        area = polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)
        minx, miny, maxx, maxy = shapely.bounds(area)
        wx, wy = _window(xs, minx, maxx, cols), _window(ys, miny, maxy, rows)
        if wx.size and wy.size:
            shapely.prepare(area)
            cx = np.broadcast_to(xs[wx][None, :], (wy.size, wx.size)).ravel()
            cy = np.broadcast_to(ys[wy][:, None], (wy.size, wx.size)).ravel()
            hit = shapely.intersects_xy(area, cx, cy).reshape(wy.size, wx.size)
            r, c = np.nonzero(hit)
            found.append((wy[r] - rows.start) * width + wx[c] - cols.start)
    if not found:
        return np.empty(0, dtype=np.int64)
    flat = np.concatenate(found).astype(np.int64, copy=False)
    return np.unique(flat) if len(found) > 1 else flat


def membership(geometries: Iterable[Any], ys: Floats, xs: Floats) -> Membership:
    """Which pixel centres (coordinates ``ys`` × ``xs``, in the geometries' CRS) count
    for which geometry; see the module docs for the rules."""
    ys = np.asarray(ys, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    rows, cols = range(ys.size), range(xs.size)
    per_geometry = [_pixels_of(g, ys, xs, rows, cols) for g in geometries]
    flat = np.concatenate(per_geometry) if per_geometry else np.empty(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(per_geometry), dtype=np.int64), [p.size for p in per_geometry])
    return Membership(
        geometry=owner,
        iy=flat // xs.size,
        ix=flat % xs.size,
        n_geometries=len(per_geometry),
        shape=(ys.size, xs.size),
    )


def reach(geometries: NDArray[np.object_], ys: Floats, xs: Floats) -> Floats:
    """``(minx, miny, maxx, maxy)`` per geometry, widened by half a pixel (the farthest a
    pixel centre that counts may lie from a line or point); NaN for empty geometries."""
    half_x, half_y = _resolution(np.asarray(xs)) / 2, _resolution(np.asarray(ys)) / 2
    bounds = np.asarray(shapely.bounds(geometries), dtype=np.float64).reshape(-1, 4)
    widened: Floats = bounds + np.array([-half_x, -half_y, half_x, half_y])
    return widened


def may_touch(reached: Floats, ys: Floats, xs: Floats) -> NDArray[np.bool_]:
    """Per geometry (``reach`` rows), whether a pixel centre of ``ys`` × ``xs`` lies within
    its reach: False guarantees that the block has none of its pixels."""
    if ys.size == 0 or xs.size == 0:
        return np.zeros(len(reached), dtype=bool)
    with np.errstate(invalid="ignore"):
        near: NDArray[np.bool_] = (
            (reached[:, 0] <= xs.max())
            & (reached[:, 2] >= xs.min())
            & (reached[:, 1] <= ys.max())
            & (reached[:, 3] >= ys.min())
        )
    return near


def block_membership(
    geometries: NDArray[np.object_], ys: Floats, xs: Floats, rows: range, cols: range
) -> scipy.sparse.csr_array:
    """The geometry × pixel matrix of the block ``rows`` × ``cols`` of the grid ``ys`` ×
    ``xs``, computed from the geometries (as :func:`membership` then
    :meth:`Membership.block` would, without deciding the whole grid first)."""
    ys = np.asarray(ys, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    touched = may_touch(
        reach(geometries, ys, xs), ys[rows.start : rows.stop], xs[cols.start : cols.stop]
    )
    per_geometry: list[Ints] = [np.empty(0, dtype=np.int64)] * len(geometries)
    for g in np.flatnonzero(touched):
        per_geometry[g] = _pixels_of(geometries[g], ys, xs, rows, cols)
    counts = np.fromiter((p.size for p in per_geometry), dtype=np.int64, count=len(geometries))
    indptr = np.zeros(len(geometries) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(per_geometry) if per_geometry else np.empty(0, dtype=np.int64)
    return scipy.sparse.csr_array(
        (np.ones(indices.size), indices, indptr),
        shape=(len(geometries), len(rows) * len(cols)),
    )


def needs(reducer: str) -> frozenset[str]:
    """The partial statistics a reducer (or ``"generic"``) is computed from."""
    return _NEEDS[reducer]


Partial = dict[str, Any]
"""Partial statistics of one block: arrays of shape (geometries, k)."""


def block_stats(
    block: NDArray[Any], matrix: scipy.sparse.csr_array, want: frozenset[str]
) -> Partial:
    """Partial statistics of one block ``(*other, h, w)`` for the geometries of ``matrix``."""
    k = int(np.prod(block.shape[:-2], dtype=np.int64))
    if want <= {"sum"}:
        return _sums_by_gather(np.reshape(block, (k, -1)), matrix, want)
    # Pixel-major and contiguous: sparse × dense products are several times faster so.
    values = np.ascontiguousarray(np.reshape(block, (k, -1)).T, dtype=np.float64)
    missing = np.isnan(values)
    out: Partial = {"n": np.asarray(matrix @ (~missing).astype(np.float64))}
    if not want:
        return out
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    if "values" in want:
        out["rows"] = rows
        out["values"] = values[matrix.indices]
        return out
    values[missing] = 0.0
    if "sum" in want:
        out["sum"] = np.asarray(matrix @ values)
    used = np.diff(matrix.indptr) > 0
    starts = matrix.indptr[:-1][used]
    gaps = missing[matrix.indices] if want & {"min", "max", "m2"} else None
    for name, ufunc, fill in (("min", np.minimum, np.inf), ("max", np.maximum, -np.inf)):
        if name in want and gaps is not None:
            result = np.full((matrix.shape[0], k), fill)
            if starts.size:
                gathered = np.where(gaps, fill, values[matrix.indices])
                result[used] = ufunc.reduceat(gathered, starts, axis=0)
            out[name] = result
    if "m2" in want and gaps is not None:
        with np.errstate(all="ignore"):
            mean = out["sum"] / out["n"]
        deviation = values[matrix.indices] - mean[rows]
        squares = np.where(gaps, 0.0, deviation * deviation)
        m2 = np.zeros((matrix.shape[0], k))
        if starts.size:
            m2[used] = np.add.reduceat(squares, starts, axis=0)
        out["m2"] = m2
    return out


def _sums_by_gather(
    images: NDArray[Any], matrix: scipy.sparse.csr_array, want: frozenset[str]
) -> Partial:
    """Valid counts (and sums) per geometry of ``images`` ``(k, pixels)``.

    Only the pixels of some geometry are touched: they are gathered geometry by
    geometry (the matrix's column indices, in row order) and summed per geometry with
    ``reduceat``, in float64. This avoids a pixel-major float64 copy of the whole
    block, which costs more than the sums when the geometries cover part of it.
    """
    g, k = matrix.shape[0], images.shape[0]
    counts = np.diff(matrix.indptr)
    used = counts > 0
    out: Partial = {"n": np.zeros((g, k))}
    if "sum" in want:
        out["sum"] = np.zeros((g, k))
    if not used.any():
        return out
    starts = matrix.indptr[:-1][used]
    weights = matrix.data
    # A fresh array (zeroed in place below); np.take gathers columns several times
    # faster than fancy indexing.
    gathered = np.take(images, matrix.indices, axis=1)
    if np.all(weights == 1):
        missing = np.isnan(gathered) if gathered.dtype.kind == "f" else None
        n = np.broadcast_to(counts[used].astype(np.float64)[:, None], (int(used.sum()), k))
        if missing is not None and missing.any():
            np.copyto(gathered, 0, where=missing)
            n = n - np.add.reduceat(missing, starts, axis=1, dtype=np.float64).T
        out["n"][used] = n
        if "sum" in want:
            out["sum"][used] = np.add.reduceat(gathered, starts, axis=1, dtype=np.float64).T
        return out
    valid = ~np.isnan(gathered) if gathered.dtype.kind == "f" else np.ones(gathered.shape, bool)
    weighted = valid * weights
    out["n"][used] = np.add.reduceat(weighted, starts, axis=1).T
    if "sum" in want:
        summed = np.where(valid, gathered * weights, 0.0)
        out["sum"][used] = np.add.reduceat(summed, starts, axis=1, dtype=np.float64).T
    return out


def combine(partials: Sequence[Partial]) -> Partial:
    """Merge the partial statistics of several blocks of the same images."""
    acc: Partial = dict(partials[0])
    for part in partials[1:]:
        if "m2" in acc:
            na, nb = acc["n"], part["n"]
            with np.errstate(all="ignore"):
                delta = part["sum"] / nb - acc["sum"] / na
                extra = delta * delta * na * nb / (na + nb)
            acc["m2"] = acc["m2"] + part["m2"] + np.where((na > 0) & (nb > 0), extra, 0.0)
        for key in ("n", "sum"):
            if key in acc:
                acc[key] = acc[key] + part[key]
        if "min" in acc:
            acc["min"] = np.fmin(acc["min"], part["min"])
        if "max" in acc:
            acc["max"] = np.fmax(acc["max"], part["max"])
        if "values" in acc:
            acc["rows"] = np.concatenate([acc["rows"], part["rows"]])
            acc["values"] = np.concatenate([acc["values"], part["values"]], axis=0)
    return acc


def gather_segments(partial: Partial, n_geometries: int) -> list[Floats]:
    """Per geometry, its pixel values as a ``(k, n_pixels)`` array (from ``values``)."""
    order = np.argsort(partial["rows"], kind="stable")
    counts = np.bincount(partial["rows"], minlength=n_geometries)
    values = partial["values"][order]
    return [v.T for v in np.split(values, np.cumsum(counts)[:-1], axis=0)]


def finish(
    reducer: str, partial: Partial, total: Ints, ignore_nodata: bool, count_all: bool
) -> Floats:
    """The reducer's value per geometry and image, shape (geometries, k), NaN = null."""
    n = partial["n"]
    with np.errstate(all="ignore"):
        if reducer == "count":
            return np.broadcast_to(total[:, None], n.shape).astype(np.float64) if count_all else n
        if reducer == "mean":
            out = partial["sum"] / n
        elif reducer == "sum":
            out = np.where(n > 0, partial["sum"], np.nan)
        elif reducer in ("min", "max"):
            out = np.where(n > 0, partial[reducer], np.nan)
        elif reducer in ("variance", "sd"):
            out = np.where(n > 1, partial["m2"] / (n - 1), np.nan)
            out = np.sqrt(out) if reducer == "sd" else out
        elif reducer == "median":
            segments = gather_segments(partial, len(total))
            out = np.full(n.shape, np.nan)
            for g, seg in enumerate(segments):
                if seg.shape[1]:
                    out[g] = np.nanmedian(seg, axis=1) if ignore_nodata else np.median(seg, axis=1)
        else:
            raise ValueError(f"no fast path for {reducer}")
    if not ignore_nodata:
        out = np.where(n < total[:, None], np.nan, out)
    return np.asarray(out, dtype=np.float64)

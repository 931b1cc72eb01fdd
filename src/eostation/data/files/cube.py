"""Assemble granules into one lazy ``(t, bands, y, x)`` cube on a common grid.

The target grid is the granules' own pixel lattice when they all share it (same CRS,
resolution and pixel alignment): chunks are then plain windowed reads, bit-exact.
Otherwise the finest grid in the first granule's CRS is extended to cover all, and each
chunk is warped from the granules with odc-geo's ``rio_reproject``. Granules of the same
day are mosaicked: the first granule (by path) with a valid pixel wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from odc.geo import geom
from odc.geo.geobox import GeoBox
from odc.geo.overlap import compute_reproject_roi
from odc.geo.roi import roi_is_empty
from odc.geo.warp import rio_reproject
from odc.geo.xr import xr_coords
from rasterio.transform import Affine

from .config import BandSpec, FileCollectionConfig
from .granules import Granule
from .readers import read_native, read_stack

__all__ = ["assemble", "target_grid"]

_TOL = 1e-6
MAX_T_CHUNK = 128


def _aligned(a: GeoBox, b: GeoBox) -> bool:
    """Same CRS, resolution and pixel lattice (offsets differ by whole pixels)."""
    fa, fb = a.affine, b.affine
    if a.crs != b.crs or fa.b or fa.d or fb.b or fb.d:
        return False
    if not (math.isclose(fa.a, fb.a, rel_tol=_TOL) and math.isclose(fa.e, fb.e, rel_tol=_TOL)):
        return False
    ox, oy = (fb.c - fa.c) / fa.a, (fb.f - fa.f) / fa.e
    return abs(ox - round(ox)) < 1e-3 and abs(oy - round(oy)) < 1e-3


def _offset(lattice: GeoBox, other: GeoBox) -> tuple[int, int]:
    """Pixel ``(row, col)`` of ``other``'s origin on ``lattice``."""
    fa, fb = lattice.affine, other.affine
    return round((fb.f - fa.f) / fa.e), round((fb.c - fa.c) / fa.a)


def _window(
    geobox: GeoBox, area: geom.Geometry, centres: bool = False
) -> tuple[int, int, int, int]:
    """Rows/cols ``(r0, r1, c0, c1)`` of ``geobox``'s lattice over ``area`` (unbounded).

    Every pixel that touches the area, or with ``centres`` the pixels whose centre lies
    in it (the openEO rule for extents: an aligned bbox gets exactly its pixels; first
    edges inclusive, last exclusive; an area smaller than a pixel gets the pixel under
    its centre).
    """
    assert geobox.crs is not None
    w, s, e, n = area.to_crs(geobox.crs).boundingbox
    inv = ~geobox.affine
    cols, rows = zip(*(inv @ (x, y) for x, y in ((w, s), (w, n), (e, s), (e, n))), strict=True)
    if not centres:
        return (
            math.floor(min(rows) + 1e-9),
            math.ceil(max(rows) - 1e-9),
            math.floor(min(cols) + 1e-9),
            math.ceil(max(cols) - 1e-9),
        )
    out: list[int] = []
    for lo, hi in ((min(rows), max(rows)), (min(cols), max(cols))):
        # Centre i + 0.5 in [lo, hi): i in [lo − 0.5, hi − 0.5).
        i0, i1 = math.ceil(lo - 0.5 - 1e-9), math.ceil(hi - 0.5 - 1e-9)
        if i1 <= i0:
            i0 = math.floor((lo + hi) / 2)
            i1 = i0 + 1
        out += [i0, i1]
    return out[0], out[1], out[2], out[3]


def target_grid(granules: Sequence[Granule], area: geom.Geometry | None) -> GeoBox | None:
    """The common grid of the granules clipped to ``area`` (None when they do not meet)."""
    first = granules[0].geobox
    if all(_aligned(first, g.geobox) for g in granules):
        lattice = first
        boxes = []
        for g in granules:
            r, c = _offset(first, g.geobox)
            boxes.append((r, r + g.geobox.height, c, c + g.geobox.width))
        r0, r1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
        c0, c1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
    else:
        # The finest grid in the first granule's CRS sets the lattice, extended to all.
        same = [g.geobox for g in granules if g.geobox.crs == first.crs]
        lattice = min(same, key=lambda b: min(abs(b.resolution.x), abs(b.resolution.y)))
        assert first.crs is not None
        union = geom.unary_union([g.geobox.extent.to_crs(first.crs) for g in granules])
        assert union is not None
        r0, r1, c0, c1 = _window(lattice, union)
    if area is not None:
        a0, a1, b0, b1 = _window(lattice, area, centres=True)
        r0, r1, c0, c1 = max(r0, a0), min(r1, a1), max(c0, b0), min(c1, b1)
    if r1 <= r0 or c1 <= c0:
        return None
    affine = lattice.affine @ Affine.translation(c0, r0)
    return GeoBox((r1 - r0, c1 - c0), affine, lattice.crs)


def _fill(
    cfg: FileCollectionConfig,
    out: np.ndarray,
    granule: Granule,
    bands: Sequence[BandSpec],
    chunk: GeoBox,
    fresh: bool = False,
) -> None:
    """Write a granule's valid pixels into the still-empty (NaN) pixels of ``out``
    (``fresh``: ``out`` is not initialised yet: the pixels are copied, NaN elsewhere)."""
    if _aligned(granule.geobox, chunk):
        window = _native_window(granule.geobox, chunk)
        if window is None:
            if fresh:
                out[...] = np.nan
            return
        (rows, cols), (dy, dx) = window
        dst = out[:, dy, dx]
        if fresh and dst.shape == out.shape and out.flags.c_contiguous and out.dtype == np.float32:
            read_native(cfg, granule, bands, rows, cols, into=out)  # no copy of the window
            return
        src = read_native(cfg, granule, bands, rows, cols)
    else:
        roi = compute_reproject_roi(granule.geobox, chunk, padding=2)
        rows, cols = (slice(int(s.start), int(s.stop)) for s in roi.roi_src)
        if rows.stop <= rows.start or cols.stop <= cols.start or roi_is_empty(roi.roi_dst):
            if fresh:
                out[...] = np.nan
            return
        native = read_native(cfg, granule, bands, rows, cols)
        dst_box = chunk[roi.roi_dst]
        src = np.full((len(bands), *dst_box.shape), np.nan, np.float32)
        for j in range(len(bands)):
            rio_reproject(
                native[j], src[j], granule.geobox[roi.roi_src], dst_box,
                cfg.resampling, src_nodata=np.nan, dst_nodata=np.nan,
            )  # fmt: skip
        dst = out[(slice(None), *roi.roi_dst)]  # type: ignore[index]
    if fresh:
        if dst.shape != out.shape:  # the granule covers part of the chunk
            out[...] = np.nan
        dst[...] = src
    else:
        empty = np.isnan(dst)
        dst[empty] = src[empty]


def _native_window(native: GeoBox, chunk: GeoBox) -> tuple[tuple[slice, slice], ...] | None:
    """For a granule on the chunk's lattice: its rows/cols under the chunk and where they
    land in the chunk; None when they do not meet."""
    r, c = _offset(native, chunk)
    r0, r1 = max(r, 0), min(r + chunk.height, native.height)
    c0, c1 = max(c, 0), min(c + chunk.width, native.width)
    if r1 <= r0 or c1 <= c0:
        return None
    return (slice(r0, r1), slice(c0, c1)), (slice(r0 - r, r1 - r), slice(c0 - c, c1 - c))


def _stackable(granule: Granule, chunk: GeoBox) -> bool:
    """A time step of a netCDF/Zarr file on the chunk's lattice: readable with its
    neighbours in one request."""
    return (
        granule.kind == "gridded" and granule.index is not None and _aligned(granule.geobox, chunk)
    )


def _fill_stack(
    cfg: FileCollectionConfig,
    out: np.ndarray,
    dates: list[int],
    granules: list[Granule],
    band: BandSpec,
    chunk: GeoBox,
) -> None:
    """Time steps of one file into the dates ``dates`` of ``out`` (t, y, x)."""
    window = _native_window(granules[0].geobox, chunk)
    if window is None:
        out[dates] = np.nan
        return
    (rows, cols), (dy, dx) = window
    if (dy.stop - dy.start, dx.stop - dx.start) != out.shape[1:]:
        out[dates] = np.nan  # the file covers part of the chunk
    if dates == list(range(dates[0], dates[0] + len(dates))):
        read_stack(cfg, granules, band, rows, cols, out[dates[0] : dates[-1] + 1, dy, dx])
    else:
        stack = np.empty((len(dates), rows.stop - rows.start, cols.stop - cols.start), np.float32)
        read_stack(cfg, granules, band, rows, cols, stack)
        out[dates, dy, dx] = stack


def _fill_band(
    cfg: FileCollectionConfig,
    out: np.ndarray,
    dates: Sequence[list[Granule]],
    band: BandSpec,
    chunk: GeoBox,
) -> None:
    """One band of a block, ``out`` (t, y, x, not yet initialised): each date the mosaic
    of its granules, NaN where none has data.

    Dates that are single time steps of the same netCDF/Zarr file are read together, so
    that a chunk holding many dates is read and decompressed once per block.
    """
    run: list[tuple[int, Granule]] = []

    def flush() -> None:
        if run:
            _fill_stack(cfg, out, [i for i, _ in run], [g for _, g in run], band, chunk)
            run.clear()

    for i, members in enumerate(dates):
        if len(members) == 1 and _stackable(members[0], chunk):
            if run and run[-1][1].path != members[0].path:
                flush()
            run.append((i, members[0]))
            continue
        if not members:
            out[i] = np.nan
        for k, granule in enumerate(members):
            _fill(cfg, out[i : i + 1], granule, [band], chunk, fresh=k == 0)
            if not np.isnan(out[i]).any():
                break
    flush()


def _holds(granule: Granule, band: BandSpec) -> bool:
    return granule.band is None or granule.band == str(band.source)


def assemble(
    cfg: FileCollectionConfig,
    groups: Sequence[tuple[np.datetime64, list[Granule]]],
    bands: Sequence[BandSpec],
    grid: GeoBox,
) -> xr.DataArray:
    """A lazy cube: one time label per group (mosaic of its granules) on ``grid``."""
    nt, step = len(groups), cfg.chunk_xy
    t_chunk = nt if nt <= MAX_T_CHUNK else MAX_T_CHUNK // 4
    (r0, c0), (bh, bw) = _storage(groups, grid)
    chunks = (
        _split(nt, t_chunk),
        (1,) * len(bands),
        _block_aligned(grid.height, step, r0, bh),
        _block_aligned(grid.width, step, c0, bw),
    )

    def build(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (t0, t1), (b0, b1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        chunk = grid[y0:y1, x0:x1]
        out = np.empty((t1 - t0, b1 - b0, y1 - y0, x1 - x0), np.float32)
        for j, band in enumerate(bands[b0:b1]):
            dates = [[g for g in members if _holds(g, band)] for _, members in groups[t0:t1]]
            _fill_band(cfg, out[:, j], dates, band, chunk)
        return out

    name = "files-" + tokenize(
        cfg.id, grid.affine, grid.shape, str(grid.crs), [b.name for b in bands], groups
    )
    data = da.map_blocks(
        build, chunks=chunks, dtype=np.float32, meta=np.empty((0,) * 4, np.float32), name=name
    )
    coords: dict[str, Any] = {
        "t": np.array([t for t, _ in groups], dtype="datetime64[ns]"),
        "bands": [b.name for b in bands],
    }
    coords.update({str(k): v for k, v in xr_coords(grid, dims=("y", "x")).items()})
    raster = [
        {**b.band.raster(), **({"scale": 1.0, "offset": 0.0} if cfg.apply_scale else {})}
        for b in bands
    ]
    return xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords=coords,
        name=cfg.id,
        attrs={"collection": cfg.id, "nodata": float("nan"), "raster:bands": raster},
    )


def _storage(
    groups: Sequence[tuple[np.datetime64, list[Granule]]], grid: GeoBox
) -> tuple[tuple[int, int], tuple[int | None, int | None]]:
    """Where ``grid`` starts in the files' pixels and the rows × cols of their stored
    blocks, from the first granule on the grid's lattice that knows its blocks."""
    for _, members in groups:
        for g in members:
            if g.block is not None and _aligned(g.geobox, grid):
                return _offset(g.geobox, grid), g.block
    return (0, 0), (None, None)


def _block_aligned(n: int, step: int, start: int, unit: int | None) -> tuple[int, ...]:
    """Chunk lengths along ``n`` pixels that begin ``start`` pixels into files stored in
    blocks of ``unit`` pixels: every inner chunk edge is a block edge, so that each
    block is decompressed by one chunk only, not by two (or four) neighbours.

    Chunks are the multiple of ``unit`` nearest ``step``; a sliver before the first
    block edge joins the first chunk. Blocks much wider than ``step`` (strips) are not
    followed: a chunk spanning a whole strip would be too large."""
    if unit is None or unit > 2 * step:
        return _split(n, step)
    size = max(unit, round(step / unit) * unit)
    first = size - start % size
    if first < size // 4:
        first += size
    if first >= n:
        return (n,)
    return (first, *_split(n - first, size))


def _split(n: int, size: int) -> tuple[int, ...]:
    full, rest = divmod(n, size)
    return (size,) * full + ((rest,) if rest else ())

"""Regridding a raster (any CRS, odc-geo GeoBox) onto the archive's HEALPix cells.

Two methods, picked from the source pixel size against the cell size:

* ``mean`` (source pixels finer than half a cell): every source pixel is assigned to
  the cell that contains its centre and each cell takes the NaN-aware mean of its
  pixels. Exact binning, no pixel is lost or counted twice.
* ``bilinear`` (coarser sources): each cell centre is located in the source grid and
  interpolated from the four surrounding pixel centres, renormalising the weights
  over the neighbours that hold data.

The geometry (which pixel feeds which cell) depends only on the source grid, so it is
computed once and applied to every date and band with :meth:`Regridder.layer`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from .grid import HealpixGrid

__all__ = ["Method", "Regridder", "pick_method"]

Method = Literal["mean", "bilinear"]
Floats32 = NDArray[np.float32]
#: Pixels between the nodes where projected sources are transformed exactly to lon/lat.
_NODE_STEP = 16
#: Source rows per block while computing the geometry (bounds the temporaries).
_ROWS = 1024


def _pixel_metres(geobox: GeoBox) -> float:
    """The larger side of a source pixel, in metres (at the grid's centre for lon/lat)."""
    rx, ry = abs(geobox.resolution.x), abs(geobox.resolution.y)
    if geobox.crs is not None and geobox.crs.geographic:
        lat = math.radians(float(geobox.extent.to_crs(4326).centroid.coords[0][1]))
        return max(rx * 111_320.0 * math.cos(lat), ry * 110_574.0)
    return max(rx, ry)


def pick_method(geobox: GeoBox, grid: HealpixGrid) -> Method:
    """``mean`` for sources finer than half a cell, ``bilinear`` otherwise."""
    return "mean" if _pixel_metres(geobox) < grid.cell_size / 2 else "bilinear"


def _origin(offset: float, step: float) -> int:
    """Global pixel index of a window's first pixel when the grid is anchored at 0, else 0."""
    ratio = offset / step
    return round(ratio) if abs(ratio - round(ratio)) < 1e-6 else 0


def _pixel_lonlat(geobox: GeoBox, row0: int, row1: int) -> tuple[NDArray[np.float64], ...]:
    """Lon/lat of pixel centres of rows ``[row0, row1)`` of a projected grid.

    Exact transforms on nodes every ``_NODE_STEP`` pixels, bilinear in between: the
    map projections of EO grids are smooth, the interpolation error is far below 1 mm.
    The nodes sit on the *global* pixel lattice of the CRS (multiples of the step from
    the origin), so overlapping windows of one grid (tiles with margins) get bit-identical
    coordinates and put every pixel into the same cell.
    """
    nx = geobox.shape[1]
    t = geobox.transform
    k = _NODE_STEP
    ox, oy = _origin(t.c, t.a), _origin(t.f, t.e)
    gc = ox + np.arange(nx)
    gr = oy + np.arange(row0, row1)
    kc = np.arange(gc[0] // k, gc[-1] // k + 2) * k
    kr = np.arange(gr[0] // k, gr[-1] // k + 2) * k
    cx, cy = np.meshgrid(kc - ox + 0.5, kr - oy + 0.5)
    x = t.c + cx * t.a + cy * t.b
    y = t.f + cx * t.d + cy * t.e
    to_ll = Transformer.from_crs(geobox.crs.proj, 4326, always_xy=True)  # type: ignore[union-attr]
    nlon, nlat = to_ll.transform(x, y)
    ri, fy = gr // k - kr[0] // k, ((gr % k) / k)[:, None]
    ci, fx = gc // k - kc[0] // k, ((gc % k) / k)[None, :]

    def interp(node: NDArray[np.float64]) -> NDArray[np.float64]:
        top = node[ri][:, ci] * (1 - fx) + node[ri][:, ci + 1] * fx
        bot = node[ri + 1][:, ci] * (1 - fx) + node[ri + 1][:, ci + 1] * fx
        return np.asarray(top * (1 - fy) + bot * fy)

    return interp(np.asarray(nlon)), interp(np.asarray(nlat))


class Regridder:
    """The source-pixel → cell geometry of one source grid."""

    def __init__(
        self,
        geobox: GeoBox,
        grid: HealpixGrid,
        method: Method | None = None,
        clip: tuple[float, float, float, float] | None = None,
    ) -> None:
        self.geobox, self.grid = geobox, grid
        self.method: Method = method or pick_method(geobox, grid)
        self.clip = clip
        if self.method == "mean":
            self._bin_geometry()
        else:
            self._bilinear_geometry()
        if clip is not None:
            self._apply_clip(clip)

    # -- geometry ----------------------------------------------------------------------------

    def _source_ids(self, row0: int, row1: int) -> NDArray[np.uint64]:
        gb = self.geobox
        t = gb.transform
        if gb.crs is not None and gb.crs.geographic and t.b == 0 and t.d == 0:
            lon = t.c + (np.arange(gb.shape[1]) + 0.5) * t.a
            lat = t.f + (np.arange(row0, row1) + 0.5) * t.e
            return self.grid.lattice_ids(lon, lat, num_threads=1)
        lon2, lat2 = _pixel_lonlat(gb, row0, row1)
        return self.grid.cell_ids(lon2, lat2)

    def _bin_geometry(self) -> None:
        ny = self.geobox.shape[0]
        n = self.grid.chunk_cells
        shift = np.uint64(2 * (self.grid.level - self.grid.chunk_level))
        blocks = [self._source_ids(r, min(r + _ROWS, ny)) for r in range(0, ny, _ROWS)]
        uniq = np.unique(np.concatenate([pd.unique((b >> shift).ravel()) for b in blocks]))
        self.chunks: NDArray[np.uint64] = uniq
        lo = int(uniq[0])
        lut = np.full(int(uniq[-1]) - lo + 1, -1, dtype=np.int64)
        lut[(uniq - np.uint64(lo)).astype(np.int64)] = np.arange(uniq.size)
        index = np.empty(self.geobox.shape, dtype=np.int64)
        mask = np.uint64(n - 1)
        row = 0
        for b in blocks:
            slot = lut[((b >> shift) - np.uint64(lo)).astype(np.int64)]
            index[row : row + b.shape[0]] = slot * n + (b & mask).astype(np.int64)
            row += b.shape[0]
        self._index = index.ravel()
        self._size = uniq.size * n
        self._pixels = np.bincount(self._index, minlength=self._size)

    def _bilinear_geometry(self) -> None:
        gb, g = self.geobox, self.grid
        bbox = tuple(gb.extent.to_crs(4326).boundingbox)
        chunks = g.chunks_covering(bbox)  # type: ignore[arg-type]
        ids = (
            chunks[:, None] * np.uint64(g.chunk_cells) + np.arange(g.chunk_cells, dtype=np.uint64)
        ).ravel()
        lon, lat = g.centres(ids)
        if gb.crs is not None and gb.crs.geographic:
            x, y = lon, lat
        else:
            x, y = Transformer.from_crs(4326, gb.crs.proj, always_xy=True).transform(lon, lat)  # type: ignore[union-attr]
        inv = ~gb.transform
        x, y = np.asarray(x), np.asarray(y)
        col = inv.a * x + inv.b * y + inv.c
        row = inv.d * x + inv.e * y + inv.f
        ny, nx = gb.shape
        inside = (col >= 0) & (col <= nx) & (row >= 0) & (row <= ny)
        keep_chunks = inside.reshape(chunks.size, g.chunk_cells).any(axis=1)
        self.chunks = chunks[keep_chunks]
        inside = inside.reshape(chunks.size, g.chunk_cells)[keep_chunks].ravel()
        col = col.reshape(chunks.size, -1)[keep_chunks].ravel()[inside] - 0.5
        row = row.reshape(chunks.size, -1)[keep_chunks].ravel()[inside] - 0.5
        self._cells = np.flatnonzero(inside)
        self._size = self.chunks.size * g.chunk_cells
        c0 = np.clip(np.floor(col), 0, max(nx - 2, 0)).astype(np.int64)
        r0 = np.clip(np.floor(row), 0, max(ny - 2, 0)).astype(np.int64)
        fx = np.clip(col - c0, 0.0, 1.0).astype(np.float32)
        fy = np.clip(row - r0, 0.0, 1.0).astype(np.float32)
        c1, r1 = np.minimum(c0 + 1, nx - 1), np.minimum(r0 + 1, ny - 1)
        self._corners = [r0 * nx + c0, r0 * nx + c1, r1 * nx + c0, r1 * nx + c1]
        self._weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy]

    def _apply_clip(self, clip: tuple[float, float, float, float]) -> None:
        """Keep only cells whose centre lies in ``clip`` (lon/lat), so adjacent tiles never overlap."""
        ids = (
            self.chunks[:, None] * np.uint64(self.grid.chunk_cells)
            + np.arange(self.grid.chunk_cells, dtype=np.uint64)
        ).ravel()
        lon, lat = self.grid.centres(ids)
        w, s, e, n = clip
        self._allowed = (lon >= w) & (lon < e) & (lat >= s) & (lat < n)

    # -- values ------------------------------------------------------------------------------

    def layer(self, values: NDArray[np.floating]) -> Floats32:
        """One 2-D source layer ``(y, x)`` regridded to ``(len(chunks), chunk_cells)``, NaN = no data."""
        v = np.asarray(values, dtype=np.float32).ravel()
        if self.method == "mean":
            nan = np.isnan(v)
            if nan.any():
                sums = np.bincount(self._index, weights=np.where(nan, 0.0, v), minlength=self._size)
                counts = np.bincount(self._index, weights=~nan, minlength=self._size)
            else:
                sums = np.bincount(self._index, weights=v, minlength=self._size)
                counts = self._pixels
            with np.errstate(invalid="ignore", divide="ignore"):
                out = (sums / counts).astype(np.float32)
        else:
            acc = np.zeros(self._cells.size, dtype=np.float32)
            wsum = np.zeros(self._cells.size, dtype=np.float32)
            for idx, w in zip(self._corners, self._weights, strict=True):
                vals = v[idx]
                ok = ~np.isnan(vals)
                acc += np.where(ok, vals * w, 0.0)
                wsum += np.where(ok, w, 0.0)
            out = np.full(self._size, np.nan, dtype=np.float32)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[self._cells] = np.where(wsum > 0.5, acc / wsum, np.nan)
        if self.clip is not None:
            out[~self._allowed] = np.nan
        return out.reshape(self.chunks.size, self.grid.chunk_cells)

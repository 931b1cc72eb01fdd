"""Demo-world assets as Cloud-Optimized GeoTIFFs rendered on demand, cached on disk.

Pixels are the demo source's own ``render`` of the band and date on the asset grid,
so they equal what ``load_collection`` returns on that grid; pixels outside the
item's cell (another orbit track's pass) are nodata. Rendered tiles are kept in a
disk cache under a size limit (oldest first out).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

from eostation.data.demo.bands import Band
from eostation.data.demo.grid import Grid, Tile
from eostation.errors import ItemNotFound

from .cog import CogLayout, TileRef
from .demo import DemoCollection, Stub

__all__ = ["AssetRenderer"]


class AssetRenderer:
    """Layouts and byte ranges of demo assets; ``cache_bytes`` bounds the tile cache."""

    def __init__(self, cache_dir: Path, cache_bytes: int) -> None:
        self.cache_dir = cache_dir
        self.cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._used: int | None = None

    def layout(self, demo: DemoCollection, stub: Stub, key: str) -> tuple[CogLayout, Band, Grid]:
        """The file layout of an asset (``ItemNotFound`` for an unknown key)."""
        band = demo.band_of(key)
        if band is None:
            raise ItemNotFound(item_id=f"{stub.id}/{key}", collection_id=demo.stac_id)
        grid = demo.asset_grid(stub.cell, band)
        a = grid.geobox.affine
        dtype = demo.asset_dtype(band)
        layout = CogLayout(
            width=grid.nx,
            height=grid.ny,
            dtype=dtype,
            epsg=grid.epsg,
            transform=(a.a, a.b, a.c, a.d, a.e, a.f),
            nodata="nan" if dtype == "float32" else "0",
        )
        return layout, band, grid

    def read(self, demo: DemoCollection, stub: Stub, key: str, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of an asset."""
        layout, band, grid = self.layout(demo, stub, key)

        def tile_bytes(ref: TileRef) -> bytes:
            name = f"{demo.stac_id}/{stub.id}/{key}/{ref.level}/{ref.ty}/{ref.tx}"
            return self._cached(name, lambda: _render(demo, stub, band, grid, layout, ref))

        return layout.read(start, stop, tile_bytes)

    # -- the disk cache --------------------------------------------------------------------

    def _cached(self, name: str, make: Callable[[], bytes]) -> bytes:
        digest = hashlib.sha1(name.encode()).hexdigest()
        path = self.cache_dir / digest[:2] / f"{digest[2:]}.bin"
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used: evicted last
            return data
        except FileNotFoundError:
            pass
        data = bytes(make())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self._account(len(data))
        return data

    def _account(self, added: int) -> None:
        with self._lock:
            if self._used is None:
                self._used = sum(p.stat().st_size for p in self.cache_dir.rglob("*.bin"))
            else:
                self._used += added
            if self._used <= self.cache_bytes:
                return
            files = sorted(self.cache_dir.rglob("*.bin"), key=lambda p: p.stat().st_mtime)
            target = int(self.cache_bytes * 0.8)
            for p in files:
                if self._used <= target:
                    break
                size = p.stat().st_size
                p.unlink(missing_ok=True)
                self._used -= size


def _level_grid(grid: Grid, level: int) -> Grid:
    """The asset grid at overview ``level`` (resolution × 2^level, nearest lattice)."""
    if level == 0:
        return grid
    f = 2**level
    return Grid(
        grid.epsg,
        grid.rx * f,
        grid.ry * f,
        grid.ix0 // f,
        grid.iy0 // f,
        -(-grid.nx // f),
        -(-grid.ny // f),
        max(1, grid.node_step // f),
    )


def _render(
    demo: DemoCollection, stub: Stub, band: Band, grid: Grid, layout: CogLayout, ref: TileRef
) -> bytes:
    """One padded tile of the COG as raw little-endian samples."""
    g = _level_grid(grid, ref.level)
    size = layout.tile
    y0, x0 = ref.ty * size, ref.tx * size
    ny, nx = min(size, g.ny - y0), min(size, g.nx - x0)
    out = np.zeros((size, size), dtype=np.float32)
    out[:] = np.nan
    if ny > 0 and nx > 0:
        tile = g.tile(y0, y0 + ny, x0, x0 + nx)
        values = demo.source.render(tile, band, [stub.acquisition], {})[0]
        mask = _outside(tile, stub)
        if mask is not None:
            values = np.where(mask, np.float32(np.nan), values)
        out[:ny, :nx] = values
    if layout.dtype == "float32":
        return out.astype("<f4").tobytes()
    ints = np.where(np.isnan(out), 0, out)
    return ints.astype(np.dtype(layout.dtype).newbyteorder("<")).tobytes()


def _outside(tile: Tile, stub: Stub) -> np.ndarray | None:
    """Pixels whose centre lies outside the item's swath (None when all are inside)."""
    mask = stub.cell.mask
    if mask is None:
        return None
    g = tile.grid
    iy, ix = tile.pixel_index
    xx, yy = np.broadcast_arrays((ix + 0.5) * g.rx, -(iy + 0.5) * g.ry)
    if g.epsg == 4326:
        lon, lat = xx, yy
    else:
        lon, lat = Transformer.from_crs(g.epsg, 4326, always_xy=True).transform(xx, yy)
    shapely.prepare(mask)
    inside = shapely.contains_xy(mask, np.asarray(lon), np.asarray(lat))
    return None if bool(inside.all()) else ~inside

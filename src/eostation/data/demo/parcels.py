"""The 10 m pattern of farmland: blocks of fields between tracks and roads.

The land is cut into blocks of about 700 m × 700 m (at 45°; narrower east-west
towards the poles). Each block is split into 1–7 columns and 1–7 rows of fields,
so fields range from 1 ha to 49 ha, and long strips occur as often as squares. Where
farms are large (the North American plains, the Eurasian steppe, the Pampas, the
Cerrado, Australia's wheat belt) a block is split into at most 2 × 2 fields of
12–49 ha; elsewhere (Europe, Asia, Africa) small fields are common. Fields have their
own sowing date and vigour; a strip a pixel wide at every field edge is a margin (grass, track), and
some block edges carry a road. These are sharp features at 10 m that a 300 m sensor
averages away.

Everything is a pure function of longitude/latitude: per-block values are hashed
once per block in a chunk (a few hundred) and looked up per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .landcover import box_weight
from .noise import normal, uniform

__all__ = ["BLOCK_DEG", "LARGE_FARM_REGIONS", "Parcels", "large_farms", "parcels", "patches"]

Fields = NDArray[np.float32]
_F32 = np.float32
#: Block size in degrees (lon, lat) at the equator of the pattern: ~700 m × 700 m at 45°N.
BLOCK_DEG = (0.009, 0.0063)
#: Most fields per block side.
_MAX_SPLIT = 7
#: Half width of a field margin and of a road, metres.
_MARGIN_M = 5.0
_ROAD_M = 6.0
_M_PER_DEG = 111_320.0
#: Most fields per block side where farms are large (fields of 12–49 ha at 45°).
_LARGE_SPLIT = 2
#: Regions of large fields (west, south, east, north in degrees): mechanised grain belts.
LARGE_FARM_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "North American plains": (-115.0, 30.0, -82.0, 55.0),
    "Eurasian steppe": (30.0, 45.0, 90.0, 58.0),
    "Pampas": (-66.0, -40.0, -56.0, -28.0),
    "Cerrado": (-60.0, -20.0, -44.0, -8.0),
    "Australian wheat belt": (113.0, -38.0, 152.0, -25.0),
}
#: Width in degrees over which a region fades into its surroundings.
_FADE_DEG = 2.0


@dataclass(frozen=True)
class Parcels:
    """Per-pixel field values: uniform draws per field, and the margin/road masks."""

    draws: list[Fields]  # one uniform 0–1 value per field and seed
    margin: NDArray[np.bool_]
    road: NDArray[np.bool_]


def _block_tables(
    seed: int, cols: NDArray[np.int64], rows: NDArray[np.int64], count: int
) -> NDArray[np.float64]:
    """``count`` uniform values per block, shaped ``(rows, cols, count)``."""
    k = np.arange(count, dtype=np.int64)
    return uniform(seed, cols[None, :, None], rows[:, None, None], k[None, None, :])


def parcels(lon: NDArray[np.float64], lat: NDArray[np.float64], seed: int, fields: int) -> Parcels:
    """Fields, margins and roads at pixels; ``fields`` uniform draws per field."""
    fx = lon / BLOCK_DEG[0]
    fy = lat / BLOCK_DEG[1]
    bcol = np.floor(fx).astype(np.int64)
    brow = np.floor(fy).astype(np.int64)
    c0, r0 = int(bcol.min()), int(brow.min())
    cols = np.arange(c0, int(bcol.max()) + 1, dtype=np.int64)
    rows = np.arange(r0, int(brow.max()) + 1, dtype=np.int64)
    # Per block: splits along x and y, and whether its west/south edges carry a road.
    layout = _block_tables(seed, cols, rows, 4)
    # The cap is decided once per block (at its centre), so every chunk agrees on it.
    largeness = large_farms(
        (cols[None, :] + 0.5) * BLOCK_DEG[0], (rows[:, None] + 0.5) * BLOCK_DEG[1]
    )
    cap = np.rint(_MAX_SPLIT - (_MAX_SPLIT - _LARGE_SPLIT) * largeness)[..., None]
    splits = 1 + np.floor(layout[..., :2] * cap).astype(np.int64)
    block = (brow - r0) * cols.size + (bcol - c0)
    ux = (fx - bcol).astype(_F32)
    uy = (fy - brow).astype(_F32)
    nx = np.take(splits[..., 0].ravel(), block)
    ny = np.take(splits[..., 1].ravel(), block)
    sx = ux * nx
    sy = uy * ny
    ix = np.floor(sx).astype(np.int64)
    iy = np.floor(sy).astype(np.int64)
    field = (block * _MAX_SPLIT + iy) * _MAX_SPLIT + ix
    tables = _block_tables(seed + 1, cols, rows, fields * _MAX_SPLIT * _MAX_SPLIT).astype(_F32)
    per_field = tables.reshape(rows.size * cols.size * _MAX_SPLIT * _MAX_SPLIT, fields)
    draws = [np.take(per_field[:, f], field) for f in range(fields)]
    # Distances to the field's edges in metres (x shrinks with the cosine of latitude).
    block_x_m = _F32(BLOCK_DEG[0] * _M_PER_DEG) * np.cos(np.radians(lat)).astype(_F32)
    width_x = block_x_m / nx
    width_y = _F32(BLOCK_DEG[1] * _M_PER_DEG) / ny
    sx -= ix
    sy -= iy
    edge_x = np.minimum(sx, _F32(1.0) - sx) * width_x
    edge_y = np.minimum(sy, _F32(1.0) - sy) * width_y
    margin = np.minimum(edge_x, edge_y) < _F32(_MARGIN_M)
    road_w = np.take(layout[..., 2].ravel(), block) < 0.35
    road_s = np.take(layout[..., 3].ravel(), block) < 0.35
    block_w = ux * block_x_m
    block_s = uy * _F32(BLOCK_DEG[1] * _M_PER_DEG)
    road = (road_w & (block_w < _F32(_ROAD_M))) | (road_s & (block_s < _F32(_ROAD_M)))
    return Parcels(draws, margin, road)


def large_farms(
    lon: NDArray[np.floating[Any]], lat: NDArray[np.floating[Any]]
) -> NDArray[np.float64]:
    """0 where fields are small … 1 inside a region of large farms, fading over 2°."""
    return box_weight(lon, lat, LARGE_FARM_REGIONS, _FADE_DEG)


def patches(seed: int, iy: NDArray[np.int64], ix: NDArray[np.int64], step: int) -> Fields:
    """A smooth, roughly standard-normal field over pixels, varying every ``step`` pixels.

    Hashed lattice values every ``step`` pixels of the grid (global, so chunk-free),
    interpolated bilinearly: within-field variation, canopy gaps, damp patches.
    """
    rows_i, cols_i = iy[:, 0], ix[0, :]
    ky0, kx0 = int(rows_i[0]) // step, int(cols_i[0]) // step
    ky = np.arange(ky0, int(rows_i[-1]) // step + 2, dtype=np.int64)
    kx = np.arange(kx0, int(cols_i[-1]) // step + 2, dtype=np.int64)
    lattice = normal(seed, ky[:, None], kx[None, :]).astype(_F32)
    ry, rx = rows_i // step - ky0, cols_i // step - kx0
    fy = ((rows_i % step) / step).astype(_F32)[:, None]
    fx = ((cols_i % step) / step).astype(_F32)[None, :]
    along = lattice[:, rx] * (_F32(1.0) - fx) + lattice[:, rx + 1] * fx
    out = np.take(along[1:] - along[:-1], ry, axis=0)
    out *= fy
    out += np.take(along, ry, axis=0)
    # Bilinear blending of independent values shrinks their spread by about 1.5.
    out *= _F32(1.5)
    return out

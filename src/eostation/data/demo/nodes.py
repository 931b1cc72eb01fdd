"""A chunk's smooth world fields on its node lattice: land-cover potentials and weather.

The expensive part of the demo world is noise, and noise is smooth: it is evaluated on
a chunk's nodes only (every ``node_step`` pixels, see :class:`.grid.Tile`) and
interpolated per pixel by the sensors. Node fields are small (a 512² chunk at node
step 16 has 34² nodes, ~80 kB a date), so they are cached generously: every band of a
chunk needs them, whatever order dask runs the bands in.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from . import world
from .cache import ByteCache
from .grid import Tile

__all__ = [
    "NodeStatic",
    "NodeWeather",
    "chunk_key",
    "clear_caches",
    "node_static",
    "node_weather",
    "pin",
]

_NODES: ByteCache[object] = ByteCache(16 * 2**20)


def chunk_key(tile: Tile) -> Hashable:
    """Cache key of a chunk."""
    # Not the tile itself: its cached pixel coordinates would live as long as the entry.
    return (tile.grid, tile.iy0, tile.iy1, tile.ix0, tile.ix1)


def clear_caches() -> None:
    """Forget every cached node field."""
    _NODES.clear()


@dataclass(frozen=True)
class NodeStatic:
    """Static land-cover potentials (z-scores) and terrain height on a chunk's nodes."""

    water: NDArray[np.float64]
    urban: NDArray[np.float64]
    forest: NDArray[np.float64]
    aridity: NDArray[np.float64]
    elevation: NDArray[np.float64]
    bare: NDArray[np.float64]
    grass: NDArray[np.float64]  # share of the open land, 0–1


def _node_static(tile: Tile) -> NodeStatic:
    land = world.landscape(*tile.node_lonlat)
    return NodeStatic(
        land.water, land.urban, land.forest, land.aridity, land.elevation, land.bare, land.grass
    )


def node_static(tile: Tile) -> NodeStatic:
    """Land cover and terrain on the nodes of a chunk (cached)."""
    return _NODES.get(("static", chunk_key(tile)), lambda: _node_static(tile))  # type: ignore[return-value]


@dataclass(frozen=True)
class NodeWeather:
    """The weather of a day on a chunk's nodes: temperature and three cloud indices."""

    temp: NDArray[np.float64]  # °C
    cloud: NDArray[np.float64]  # opaque cloud index (z-score units, > 0 inside clouds)
    shade: NDArray[np.float64]  # the cloud index seen from the shadowed ground
    cirrus: NDArray[np.float64]  # thin cirrus opacity before clipping


def _node_weathers(tile: Tile, days: Sequence[float]) -> list[NodeWeather]:
    """The weather of several days in one noise pass (the values of one call per day)."""
    lon, lat = tile.node_lonlat
    elevation = node_static(tile).elevation
    lons, lats = [], []
    for day in days:
        # Shadows: the cloud field seen from a point displaced towards the Sun of the
        # late-morning overpass, by the cloud height times the tangent of the solar zenith.
        east_km, north_km = world.shadow_offset_km(lat, day)
        dlat = north_km / 111.2
        dlon = east_km / (111.2 * np.maximum(np.cos(np.radians(lat)), 0.05))
        lons.append(np.stack([lon, lon + dlon]))
        lats.append(np.stack([lat, lat + dlat]))
    # The cloud and its shadow of every day in one call: the noise is evaluated in one pass.
    both = world.cloud_index_days(np.stack(lons), np.stack(lats), days)
    every = (len(days), *lon.shape)
    cirrus = world.cloud_index_days(
        np.broadcast_to(lon + 3.0, every), np.broadcast_to(lat, every), [d + 1000.0 for d in days]
    )
    cirrus -= 0.8
    return [
        # Copies: a day's cache entry must not keep the other days' arrays alive.
        NodeWeather(
            world.temperature(lat, elevation, day), both[i, 0].copy(), both[i, 1].copy(),
            cirrus[i].copy(),
        )
        for i, day in enumerate(days)
    ]  # fmt: skip


def node_weather(tile: Tile, day: float) -> NodeWeather:
    """Temperature and cloud fields of a day on the nodes of a chunk (cached)."""
    return _NODES.get(("weather", chunk_key(tile), day), partial(_first, tile, day))  # type: ignore[return-value]


def pin(tile: Tile, days: Sequence[float]) -> list[object]:
    """Compute a chunk's node fields for some days; they stay findable while returned.

    The days not cached yet are computed in one noise pass: most of the cost of one
    day alone is the fixed cost of a call.
    """
    key = chunk_key(tile)
    held: list[object] = [_NODES.pin(("static", key), partial(_node_static, tile))]
    missing = [day for day in days if _NODES.find(("weather", key, day)) is None]
    fresh = dict(zip(missing, _node_weathers(tile, missing) if missing else [], strict=True))
    for day in days:
        made = fresh.get(day)
        held.append(
            _NODES.pin(("weather", key, day), partial(_first, tile, day))
            if made is None
            else _NODES.pin(("weather", key, day), partial(_given, made))
        )
    return held


def _first(tile: Tile, day: float) -> NodeWeather:
    return _node_weathers(tile, [day])[0]


def _given(value: NodeWeather) -> NodeWeather:
    return value

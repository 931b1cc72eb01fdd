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


def _node_weather(tile: Tile, day: float) -> NodeWeather:
    lon, lat = tile.node_lonlat
    temp = world.temperature(lat, node_static(tile).elevation, day)
    # Shadows: the cloud field seen from a point displaced towards the Sun of the
    # late-morning overpass, by the cloud height times the tangent of the solar zenith.
    east_km, north_km = world.shadow_offset_km(lat, day)
    dlat = north_km / 111.2
    dlon = east_km / (111.2 * np.maximum(np.cos(np.radians(lat)), 0.05))
    # One call for the cloud and its shadow: the noise is evaluated in one pass.
    both = world.cloud_index(np.stack([lon, lon + dlon]), np.stack([lat, lat + dlat]), day)
    cirrus = world.cloud_index(lon + 3.0, lat, day + 1000.0) - 0.8
    return NodeWeather(temp, both[0], both[1], cirrus)


def node_weather(tile: Tile, day: float) -> NodeWeather:
    """Temperature and cloud fields of a day on the nodes of a chunk (cached)."""
    return _NODES.get(("weather", chunk_key(tile), day), lambda: _node_weather(tile, day))  # type: ignore[return-value]


def pin(tile: Tile, days: Sequence[float]) -> list[object]:
    """Compute a chunk's node fields for some days; they stay findable while returned."""
    key = chunk_key(tile)
    held: list[object] = [_NODES.pin(("static", key), partial(_node_static, tile))]
    held += [_NODES.pin(("weather", key, day), partial(_node_weather, tile, day)) for day in days]
    return held

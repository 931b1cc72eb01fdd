"""What an optical sensor sees on one chunk and date: surface, snow, clouds and shadows.

:func:`scene` combines the static landscape of a chunk with the weather of a day and
returns per-pixel fractions; :meth:`Scene.reflectance` mixes the end-member spectra of
:mod:`.spectra` with them at any wavelength, so Sentinel-2, Sentinel-3 OLCI/SLSTR/SYN
all see the same world. Vegetation greens up and senesces with a seasonal cycle that
depends on latitude and hemisphere; crop parcels have their own phase; clouds move
between dates.

The ground of a chunk (land cover and its date-free terms) is :mod:`.ground`'s.

Cost model: the smooth world fields are evaluated on the chunk's node lattice only
(:mod:`.nodes`). Per-pixel work is float32 and skips what a scene lacks: a cloud-free
chunk never interpolates a cloud field. A multi-band request computes a chunk's land
cover, node weather and scenes once for all its bands (:func:`pin_chunk`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import ground, nodes, world
from .cache import ByteCache, nbytes
from .grid import Tile
from .ground import EPS, Static, chunk_greenness, greenness, pin_static, static, zeros
from .nodes import chunk_key, node_weather
from .spectra import reflectance as endmember

__all__ = [
    "SCENE_BUDGET",
    "ChunkPin",
    "Scene",
    "Static",
    "clear_caches",
    "greenness",
    "pin_chunk",
    "scene",
    "static",
]

Fields = NDArray[np.float32]
_F32 = np.float32
#: Largest magnitude of :func:`.noise.normal` (Irwin–Hall of four uniforms: 2√3).
_TEXTURE_MAX = 3.4642
#: Bytes of per-date scenes a pinned chunk keeps for its other bands (~4–5 MB a 512²
#: date: the 12 dates of a 2-month EFAST window in the tropics fit).
SCENE_BUDGET = 64 * 2**20
_PINS: weakref.WeakValueDictionary[Hashable, ChunkPin] = weakref.WeakValueDictionary()
_PINS_LOCK = threading.Lock()


def clear_caches() -> None:
    """Forget every cached field (for benchmarks and tests)."""
    nodes.clear_caches()
    ground.clear_caches()


class ChunkPin:
    """A chunk's shared fields, alive while dask holds the pin; pickles to an empty pin.

    It also collects the chunk's scenes as its first band computes them, up to
    :data:`SCENE_BUDGET` bytes, so that its other bands reuse them. Two loads of the
    same chunk that run at the same time (the S2 bands and SCL that EFAST loads
    separately) share one pin: the second finds the first's land cover and scenes.
    """

    def __init__(self, *held: object) -> None:
        self.held = list(held)
        # Kept in the order the first band computes them; its other bands read them in
        # that order again, and two bands asking for one date compute it once.
        self.scenes: ByteCache[Scene] = ByteCache(SCENE_BUDGET, _scene_bytes, evict=False)
        self._lock = threading.Lock()

    def hold(self, values: Sequence[object]) -> None:
        """Keep more of the chunk's fields alive for as long as the pin is."""
        with self._lock:
            self.held.extend(values)

    def __reduce__(self) -> tuple[type[ChunkPin], tuple[()]]:
        # Another worker recomputes what it misses rather than receiving megabytes.
        return (ChunkPin, ())


def pin_chunk(tile: Tile, days: Sequence[float]) -> ChunkPin:
    """Compute a chunk's land cover and node weather once and keep them findable.

    :func:`static`, :func:`scene` and the node fields of :mod:`.nodes` find them for
    as long as the returned pin is alive, whatever the caches evicted meanwhile. A pin
    of the same chunk that is still alive is returned, holding these days' fields too.
    """
    key = chunk_key(tile)
    held = nodes.pin(tile, days)
    with _PINS_LOCK:
        pin = _PINS.get(key)
    if pin is None:
        fresh = ChunkPin(pin_static(tile))
        with _PINS_LOCK:
            pin = _PINS.setdefault(key, fresh)
    pin.hold(held)
    return pin


@dataclass(frozen=True)
class Scene:
    """Per-pixel state of a chunk on one date (absent components are free all-zero views)."""

    static: Static
    veg: Fields  # fractional green-vegetation cover
    snow: Fields  # snow-cover fraction
    cloud: Fields  # opaque-cloud opacity 0–1
    cloud_top: Fields  # cloud-top brightness factor, ~0.8–1: thick cloud is brighter
    cirrus: Fields  # thin-cirrus opacity 0–1
    shadow: NDArray[np.bool_]
    any_snow: bool = True
    any_cloud: bool = True
    any_cirrus: bool = True
    any_shadow: bool = True

    def surface(self, wavelength_nm: float) -> Fields:
        """Cloud-free surface reflectance at a wavelength."""
        s, e = self.static, wavelength_nm
        soil, sand = endmember("soil", e), endmember("sand", e)
        land = s.aridity * _F32(sand - soil)
        land += _F32(soil)
        # veg × vegetation + (1 − veg) × soil
        land += self.veg * (_F32(endmember("vegetation", e)) - land)
        if s.any_paved:
            np.copyto(land, _F32(endmember("urban", e)), where=s.paved)
        land *= s.brightness
        if s.any_water:
            wet = _F32(endmember("water", e)) * (_F32(1.0) + _F32(0.02) * s.texture)
            np.copyto(land, wet, where=s.water)
        if self.any_snow:
            land += self.snow * (_F32(endmember("snow", e)) - land)
        return land

    def reflectance(self, wavelength_nm: float) -> Fields:
        """Reflectance seen through the clouds (bottom of atmosphere in clear sky)."""
        e = wavelength_nm
        r = self.surface(e)
        if self.any_shadow:
            np.multiply(r, _F32(0.35), out=r, where=self.shadow)
        if self.any_cirrus:
            r += self.cirrus * (_F32(endmember("cirrus", e) * 2.5) - r)
        if self.any_cloud:
            # Even an opaque deck is not one flat value: its top follows the cloud's depth.
            r += self.cloud * (_F32(endmember("cloud", e)) * self.cloud_top - r)
        return np.clip(r, _F32(0.0), _F32(1.5), out=r)

    def ndvi(self) -> Fields:
        """NDVI of the observed reflectance (665/842 nm)."""
        red, nir = self.reflectance(665.0), self.reflectance(842.0)
        return np.asarray((nir - red) / np.maximum(nir + red, 1e-6), dtype=np.float32)


def _scene(tile: Tile, day: float) -> Scene:
    st = static(tile)
    weather = node_weather(tile, day)
    shape = tile.shape
    texture_span = _TEXTURE_MAX
    # Each component is skipped when no pixel of the chunk can have any of it: the node
    # extremes bound the bilinear interpolation and the texture is bounded too.
    t_min = float(weather.temp.min())
    veg = chunk_greenness(st, day)
    veg *= st.veg_range
    veg += st.veg_min
    temp = tile.interp(weather.temp, _F32) if t_min < 5.0 + EPS else None
    none = snow = cloud = cirrus = zeros(shape)
    cloud_top: Fields = zeros(shape)
    no_shadow: NDArray[np.bool_] = np.broadcast_to(np.bool_(False), shape)
    shadow = no_shadow
    if temp is not None and (-1.0 - t_min) / 4.0 + 0.15 * texture_span > -EPS:
        # Snow lies below about 0 °C; a little noise frays the snow line.
        snow = np.clip((_F32(-1.0) - temp) / _F32(4.0) - _F32(0.15) * st.texture, 0.0, 1.0)
    if temp is not None:
        cold = np.clip((_F32(5.0) - temp) / _F32(10.0), 0.0, 1.0)  # frost stops growth
        veg *= _F32(1.0) - _F32(0.7) * cold
    if 1.8 * float(weather.cloud.max()) + 0.08 * texture_span > -EPS:
        index = tile.interp(weather.cloud, _F32)
        index *= _F32(1.8)
        index += _F32(0.08) * st.texture
        # Cloud tops brighten with depth (1 − 0.2·e^(−index/3)) and have a grain of their own.
        cloud_top = np.maximum(index, _F32(0.0))
        cloud_top *= _F32(-1.0 / 3.0)
        np.exp(cloud_top, out=cloud_top)
        cloud_top *= _F32(-0.2)
        cloud_top += _F32(1.0) + _F32(0.012) * st.texture
        cloud = np.clip(index, _F32(0.0), _F32(1.0), out=index)
    if float(weather.shade.max()) > 0.25 - EPS:
        shadow = (tile.interp(weather.shade, _F32) > 0.25) & (cloud < 0.3)
    if float(weather.cirrus.max()) > -EPS:
        cirrus = np.clip(tile.interp(weather.cirrus, _F32), _F32(0.0), _F32(0.35))
    return Scene(
        st,
        veg,
        snow,
        cloud,
        cloud_top,
        cirrus,
        shadow,
        # A computed field may still be all zero: mixing it in then changes nothing.
        any_snow=snow is not none,
        any_cloud=cloud is not none,
        any_cirrus=cirrus is not none,
        any_shadow=shadow is not no_shadow,
    )


def scene(tile: Tile, day: float) -> Scene:
    """The scene of a chunk on a day (shared by the bands of a pinned chunk)."""
    pin = _PINS.get(chunk_key(tile))
    if pin is None:
        return _scene(tile, day)
    return pin.scenes.get(day, lambda: _scene(tile, day))


def _scene_bytes(value: Scene) -> int:
    """Bytes of a scene's own fields (its land cover is the chunk's, held by the pin)."""
    return nbytes((value.veg, value.snow, value.cloud, value.cloud_top, value.cirrus, value.shadow))


def cloud_cover(
    bbox4326: tuple[float, float, float, float], day: float, samples: int = 12
) -> float:
    """Percentage of opaque cloud over a bbox on a day (from a coarse sample of the field)."""
    w, s, e, n = bbox4326
    lon, lat = np.meshgrid(np.linspace(w, e, samples), np.linspace(s, n, samples), indexing="xy")
    return float(np.mean(world.cloud_index(lon, lat, day) * 1.8 > 0.5) * 100.0)

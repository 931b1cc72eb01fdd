"""What an optical sensor sees on one chunk and date: surface, snow, clouds and shadows.

:func:`scene` combines the static landscape of a chunk with the weather of a day and
returns per-pixel fractions; :meth:`Scene.reflectance` mixes the end-member spectra of
:mod:`.spectra` with them at any wavelength, so Sentinel-2, Sentinel-3 OLCI/SLSTR/SYN
all see the same world. Vegetation greens up and senesces with a seasonal cycle that
depends on latitude and hemisphere; crop parcels have their own phase; clouds move
between dates.

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

from . import landcover, nodes, world
from .cache import ByteCache, nbytes
from .grid import Tile
from .nodes import chunk_key, node_static, node_weather
from .noise import normal, seed_of
from .parcels import parcels, patches
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
_PARCEL = seed_of("parcel")
_TEXTURE = seed_of("texture")
_PATCHES = seed_of("patches")
#: Largest magnitude of :func:`.noise.normal` (Irwin–Hall of four uniforms: 2√3).
_TEXTURE_MAX = 3.4642
#: Margin on the "nothing of it in this chunk" tests (far above float rounding).
_EPS = 1e-4

# Pixel fields are megabytes. Land cover is LRU-cached for the latest chunks only (it
# pays off when a chunk's bands run back to back); beyond that, a chunk's shared task
# (:func:`pin_chunk`) keeps its fields alive exactly as long as its bands need them.
_STATICS: ByteCache[Static] = ByteCache(64 * 2**20)
#: Bytes of per-date scenes a pinned chunk keeps for its other bands (~4–5 MB a 512²
#: date: the 12 dates of a 2-month EFAST window in the tropics fit).
SCENE_BUDGET = 64 * 2**20
_PINS: weakref.WeakValueDictionary[Hashable, ChunkPin] = weakref.WeakValueDictionary()
_PINS_LOCK = threading.Lock()


def clear_caches() -> None:
    """Forget every cached field (for benchmarks and tests)."""
    nodes.clear_caches()
    _STATICS.clear()


def _zeros(shape: tuple[int, ...]) -> Fields:
    """A read-only all-zero field that owns no memory."""
    return np.broadcast_to(_F32(0.0), shape)


@dataclass(frozen=True)
class Static:
    """Per-pixel land cover of a chunk (fractions 0–1, booleans) and its date-free terms."""

    lat: Fields
    water: NDArray[np.bool_]
    urban: NDArray[np.bool_]
    forest: NDArray[np.bool_]
    grass: NDArray[np.bool_]  # meadows and pasture (whole fields), alpine grass, steppe
    bare: NDArray[np.bool_]  # desert and rock; crops are the land that is none of these
    aridity: Fields
    phase: Fields  # parcel phenology shift, days
    vigour: Fields  # parcel peak greenness, 0–1
    texture: Fields  # per-pixel brightness texture, ~N(0, 1)
    # Terms of the scene that do not depend on the date (see :func:`greenness`, :func:`scene`).
    green_peak: Fields  # day of year of peak greenness
    green_scale: Fields  # 1 / width of the growing season, 1/days
    harvest: Fields  # crops: season widths after the peak at which they are cut (inf: never)
    tropical: Fields  # weight of the evergreen tropical regime, 0–1
    veg_min: Fields  # vegetation cover out of season (0 on water and towns)
    veg_range: Fields  # seasonal vegetation amplitude (0 on water and towns)
    brightness: Fields  # 1 + 0.06 × texture: land brightness variation
    any_water: bool
    any_urban: bool
    any_tropical: bool
    paved: NDArray[np.bool_]  # towns and roads: the urban spectrum
    any_paved: bool

    def cover(self) -> NDArray[np.uint8]:
        """Land-cover class per pixel (codes of :mod:`.landcover`; roads count as urban)."""
        return landcover.class_map(self.water, self.paved, self.forest, self.grass, self.bare)


def _static(tile: Tile) -> Static:
    potentials = node_static(tile)
    lon, lat = tile.lonlat
    iy, ix = tile.pixel_index
    texture = normal(_TEXTURE + tile.grid.epsg, iy, ix).astype(_F32)
    water = tile.interp(potentials.water, _F32) + 0.04 * texture > 0
    # ~40 m patches: uneven growth within fields, gaps and crowns in forests, and
    # town edges in blocks (per-pixel noise here would speckle them like white noise).
    patchy = patches(_PATCHES + tile.grid.epsg, iy, ix, 4)
    urban = ~water & (tile.interp(potentials.urban, _F32) + 0.25 * patchy > 0)
    land = ~water & ~urban
    # Forest edges fray at 40 m; grassland is decided per field, like a farmer would.
    forest = land & (tile.interp(potentials.forest, _F32) + _F32(0.15) * patchy > 0)
    open_land = land & ~forest
    bare = open_land & (tile.interp(potentials.bare, _F32) > 0)
    aridity = tile.interp(potentials.aridity, _F32)
    farm = parcels(lon, lat, _PARCEL, 3)
    phase, vigour, kind = farm.draws
    grass = open_land & ~bare & (kind < tile.interp(potentials.grass, _F32))
    # Roads serve farms and forests, not the open desert or the rock.
    roads = farm.road & ~water & ~bare
    phase -= _F32(0.5)
    phase *= _F32(80.0)
    vigour *= _F32(0.3)
    vigour += _F32(0.7)
    lat32 = lat.astype(_F32)
    abs_lat = np.abs(lat32)
    humid = _F32(1.0) - aridity
    veg_min = humid * humid
    # Peak cover: near full in humid land and irrigated plains, none in the deserts.
    veg_max = np.clip(_F32(1.25) * humid - _F32(0.25), _F32(0.0), _F32(1.0))
    np.sqrt(veg_max, out=veg_max)
    veg_max *= np.where(forest, _F32(0.95), np.where(grass, _F32(0.85), _F32(1.0)) * vigour)
    # Conifers (poleward of ~50° and in patches elsewhere) stay green; deciduous
    # forests keep little canopy in winter.
    evergreen = forest & ((abs_lat - _F32(50.0)) / _F32(8.0) + _F32(0.4) * patchy > 0)
    # Grass keeps some green out of season; bare crop fields do not.
    veg_min *= np.where(
        forest,
        np.where(evergreen, _F32(0.75), _F32(0.2)),
        np.where(grass, _F32(0.35), _F32(0.05)),
    )
    # Field margins (grass, tracks) are thinner than the crop beside them.
    veg_max *= np.where(farm.margin & ~forest, _F32(0.55), _F32(1.0))
    veg_max *= np.clip(_F32(1.0) + _F32(0.08) * patchy, _F32(0.6), _F32(1.1))
    barren = water | urban | roads | bare
    veg_min[barren] = 0.0
    veg_max[barren] = 0.0
    veg_max -= veg_min
    lat_n = tile.node_lonlat[1]
    if lat_n.min() >= 0.0 or lat_n.max() < 0.0:  # one hemisphere: a constant peak day
        green_peak = phase + _F32(196.0 if lat_n.min() >= 0.0 else 15.0)
    else:
        green_peak = np.where(lat32 >= 0, _F32(196.0), _F32(15.0)) + phase
    width = abs_lat / _F32(25.0)
    width *= width
    np.negative(width, out=width)
    np.exp(width, out=width)
    width *= _F32(60.0)
    width += _F32(35.0)
    any_tropical = bool(np.abs(lat_n).min() < 23.0 + _EPS)
    tropical: Fields = (
        np.clip(_F32(1.0) - abs_lat / _F32(23.0), _F32(0.0), _F32(1.0))
        if any_tropical
        else _zeros(tile.shape)
    )
    return Static(
        lat=lat32,
        water=water,
        urban=urban,
        forest=forest,
        grass=grass,
        bare=bare,
        aridity=aridity,
        phase=phase,
        vigour=vigour,
        texture=texture,
        green_peak=green_peak,
        green_scale=np.reciprocal(width, out=width),
        harvest=np.where(forest | grass, _F32(np.inf), _F32(0.9)),
        tropical=tropical,
        veg_min=veg_min,
        veg_range=veg_max,
        brightness=_F32(1.0) + _F32(0.04) * texture + _F32(0.06) * patchy,
        any_water=bool(water.any()),
        any_urban=bool(urban.any()),
        paved=urban | roads,
        any_paved=bool((urban | roads).any()),
        any_tropical=any_tropical,
    )


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
        fresh = ChunkPin(_STATICS.pin(key, lambda: _static(tile)))
        with _PINS_LOCK:
            pin = _PINS.setdefault(key, fresh)
    pin.hold(held)
    return pin


def static(tile: Tile) -> Static:
    """Land cover of a chunk (cached: every band and date of the chunk shares it)."""
    return _STATICS.get(chunk_key(tile), lambda: _static(tile))


def greenness(
    lat: NDArray[np.floating], day: float, phase: NDArray[np.floating] | float = 0.0
) -> NDArray[np.float64]:
    """Seasonal greenness 0–1: a growing-season bump peaking in July (north) or January (south).

    The season widens towards the equator; the tropics stay green with a mild dry season.
    """
    abs_lat = np.abs(lat)
    peak = np.where(lat >= 0, 196.0, 15.0) + phase
    width = 35.0 + 60.0 * np.exp(-((abs_lat / 25.0) ** 2))
    diff = (world.day_of_year(day) - peak + 182.6) % 365.2425 - 182.6
    bump = np.exp(-0.5 * (diff / width) ** 2)
    tropical = np.clip(1.0 - abs_lat / 23.0, 0.0, 1.0)
    return np.asarray(tropical * (0.75 + 0.25 * bump) + (1.0 - tropical) * bump, dtype=np.float64)


def _greenness(st: Static, day: float) -> Fields:
    """:func:`greenness` of a chunk from its precomputed date-free terms, in float32, with
    the crops cut at harvest."""
    g = np.subtract(_F32(world.day_of_year(day) + 182.6), st.green_peak)
    # g mod one year, as g − ⌊g / year⌋ × year (np.remainder is ~30× slower than this)
    turns = g * _F32(1.0 / 365.2425)
    np.floor(turns, out=turns)
    turns *= _F32(365.2425)
    g -= turns
    g -= _F32(182.6)
    g *= st.green_scale
    # Crops are harvested a little after their peak: the field turns to stubble at once.
    cut = g > st.harvest
    g *= g
    g *= _F32(-0.5)
    np.exp(g, out=g)
    # A closed canopy stays closed for weeks around the peak, not for a day.
    g *= _F32(1.25)
    np.minimum(g, _F32(1.0), out=g)
    np.multiply(g, _F32(0.1), out=g, where=cut)
    if st.any_tropical:
        # tropical × (0.75 + 0.25 × bump) + (1 − tropical) × bump
        g += st.tropical * (_F32(0.75) - _F32(0.75) * g)
    return g


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
    veg = _greenness(st, day)
    veg *= st.veg_range
    veg += st.veg_min
    temp = tile.interp(weather.temp, _F32) if t_min < 5.0 + _EPS else None
    none = snow = cloud = cirrus = _zeros(shape)
    cloud_top: Fields = _zeros(shape)
    no_shadow: NDArray[np.bool_] = np.broadcast_to(np.bool_(False), shape)
    shadow = no_shadow
    if temp is not None and (-1.0 - t_min) / 4.0 + 0.15 * texture_span > -_EPS:
        # Snow lies below about 0 °C; a little noise frays the snow line.
        snow = np.clip((_F32(-1.0) - temp) / _F32(4.0) - _F32(0.15) * st.texture, 0.0, 1.0)
    if temp is not None:
        cold = np.clip((_F32(5.0) - temp) / _F32(10.0), 0.0, 1.0)  # frost stops growth
        veg *= _F32(1.0) - _F32(0.7) * cold
    if 1.8 * float(weather.cloud.max()) + 0.08 * texture_span > -_EPS:
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
    if float(weather.shade.max()) > 0.25 - _EPS:
        shadow = (tile.interp(weather.shade, _F32) > 0.25) & (cloud < 0.3)
    if float(weather.cirrus.max()) > -_EPS:
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

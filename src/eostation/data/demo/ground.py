"""The ground of a chunk: per-pixel land cover and its date-free seasonal terms.

:func:`static` turns a chunk's node-lattice land-cover potentials (:mod:`.nodes`) and
per-pixel noise (parcels, patches, texture) into per-pixel classes and fractions, once
per chunk; :func:`chunk_greenness` evaluates the seasonal cycle of a date from the
terms it precomputes. :mod:`.optical` adds the weather of a date (its :class:`.Scene`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import landcover, world
from .cache import ByteCache
from .grid import Tile
from .nodes import chunk_key, node_static
from .noise import normal, seed_of
from .parcels import parcels, patches

__all__ = [
    "EPS",
    "Static",
    "chunk_greenness",
    "clear_caches",
    "greenness",
    "pin_static",
    "static",
    "zeros",
]

Fields = NDArray[np.float32]
_F32 = np.float32
_PARCEL = seed_of("parcel")
_TEXTURE = seed_of("texture")
_PATCHES = seed_of("patches")
#: Margin on the "nothing of it in this chunk" tests (far above float rounding).
EPS = 1e-4

# Pixel fields are megabytes (~14 MB a 512² chunk). Land cover is LRU-cached for the
# latest chunks (it pays off when a chunk's bands or two loads of it run close
# together); beyond that, a chunk's pin (:func:`.optical.pin_chunk`) keeps it alive
# exactly as long as its bands need it.
_STATICS: ByteCache[Static] = ByteCache(64 * 2**20)


def clear_caches() -> None:
    """Forget every cached land cover."""
    _STATICS.clear()


def zeros(shape: tuple[int, ...]) -> Fields:
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
    # Terms of the scene that do not depend on the date (see :func:`chunk_greenness`, :func:`.optical.scene`).
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
    any_tropical = bool(np.abs(lat_n).min() < 23.0 + EPS)
    tropical: Fields = (
        np.clip(_F32(1.0) - abs_lat / _F32(23.0), _F32(0.0), _F32(1.0))
        if any_tropical
        else zeros(tile.shape)
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


def pin_static(tile: Tile) -> Static:
    """:func:`static`, findable for as long as the caller holds the returned value."""
    return _STATICS.pin(chunk_key(tile), lambda: _static(tile))


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


def chunk_greenness(st: Static, day: float) -> Fields:
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

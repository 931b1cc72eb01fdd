"""What an optical sensor sees on one chunk and date: surface, snow, clouds and shadows.

:func:`scene` combines the static landscape (cached per chunk) with the weather of a
day and returns per-pixel fractions; :meth:`Scene.reflectance` mixes the end-member
spectra of :mod:`.spectra` with them at any wavelength, so Sentinel-2, Sentinel-3
OLCI/SLSTR/SYN all see the same world. Vegetation greens up and senesces with a
seasonal cycle that depends on latitude and hemisphere; crop parcels have their own
phase; clouds move between dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from . import world
from .grid import Tile
from .noise import normal, seed_of, uniform
from .spectra import reflectance as endmember

__all__ = ["Scene", "Static", "greenness", "scene", "static"]

Fields = NDArray[np.float32]
_PARCEL = seed_of("parcel")
_TEXTURE = seed_of("texture")
_CIRRUS = seed_of("cirrus")
#: Parcel size in degrees (lon, lat): roughly 300 m fields.
PARCEL_DEG = (0.004, 0.003)
#: Cloud shadow offset towards the Sun, km (cloud height × tan of the solar zenith angle).
SHADOW_KM = 1.6


@dataclass(frozen=True)
class Static:
    """Per-pixel land cover of a chunk (fractions 0–1, booleans)."""

    lat: Fields
    water: NDArray[np.bool_]
    urban: NDArray[np.bool_]
    forest: NDArray[np.bool_]
    aridity: Fields
    phase: Fields  # parcel phenology shift, days
    vigour: Fields  # parcel peak greenness, 0–1
    texture: Fields  # per-pixel brightness texture, ~N(0, 1)


# Bounded: a 512² chunk's Static is ~7 MB and a Scene ~5 MB.
@lru_cache(maxsize=16)
def static(tile: Tile) -> Static:
    """Land cover of a chunk (cached: every band and date of the chunk shares it)."""
    land = world.landscape(*tile.node_lonlat)
    lon, lat = tile.lonlat
    iy, ix = tile.pixel_index
    texture = normal(_TEXTURE + tile.grid.epsg, iy, ix)
    water = tile.interp(land.water) + 0.04 * texture > 0
    urban = ~water & (tile.interp(land.urban) + 0.25 * texture > 0)
    forest = ~water & ~urban & (tile.interp(land.forest) > 0.35)
    pcol = np.floor(lon / PARCEL_DEG[0]).astype(np.int64)
    prow = np.floor(lat / PARCEL_DEG[1]).astype(np.int64)
    phase = (uniform(_PARCEL, pcol, prow) - 0.5) * 80.0
    vigour = 0.55 + 0.45 * uniform(_PARCEL + 1, pcol, prow)
    return Static(
        lat=lat.astype(np.float32),
        water=water,
        urban=urban,
        forest=forest,
        aridity=tile.interp(land.aridity).astype(np.float32),
        phase=phase.astype(np.float32),
        vigour=vigour.astype(np.float32),
        texture=texture.astype(np.float32),
    )


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


@dataclass(frozen=True)
class Scene:
    """Per-pixel state of a chunk on one date."""

    static: Static
    veg: Fields  # fractional green-vegetation cover
    snow: Fields  # snow-cover fraction
    cloud: Fields  # opaque-cloud opacity 0–1
    cirrus: Fields  # thin-cirrus opacity 0–1
    shadow: NDArray[np.bool_]

    def surface(self, wavelength_nm: float) -> Fields:
        """Cloud-free surface reflectance at a wavelength."""
        s = self.static
        soil = (1.0 - s.aridity) * endmember("soil", wavelength_nm) + s.aridity * endmember(
            "sand", wavelength_nm
        )
        land = self.veg * endmember("vegetation", wavelength_nm) + (1.0 - self.veg) * soil
        land = np.where(s.urban, endmember("urban", wavelength_nm), land)
        land = land * (1.0 + 0.06 * s.texture)
        land = np.where(s.water, endmember("water", wavelength_nm) * (1.0 + 0.02 * s.texture), land)
        return (1.0 - self.snow) * land + self.snow * endmember("snow", wavelength_nm)

    def reflectance(self, wavelength_nm: float) -> Fields:
        """Reflectance seen through the clouds (bottom of atmosphere in clear sky)."""
        r = self.surface(wavelength_nm)
        r = np.where(self.shadow, r * 0.35, r)
        r = (1.0 - self.cirrus) * r + self.cirrus * endmember("cirrus", wavelength_nm) * 2.5
        r = (1.0 - self.cloud) * r + self.cloud * endmember("cloud", wavelength_nm)
        return np.clip(r, 0.0, 1.5).astype(np.float32)

    def ndvi(self) -> Fields:
        """NDVI of the observed reflectance (665/842 nm)."""
        red, nir = self.reflectance(665.0), self.reflectance(842.0)
        return np.asarray((nir - red) / np.maximum(nir + red, 1e-6), dtype=np.float32)


@lru_cache(maxsize=32)
def scene(tile: Tile, day: float) -> Scene:
    """The scene of a chunk on a day (cached per chunk and day; shared by all bands)."""
    st = static(tile)
    lon_n, lat_n = tile.node_lonlat
    elev_n = world.elevation(lon_n, lat_n)
    temp = tile.interp(world.temperature(lat_n, elev_n, day))
    # Snow lies below about 0 °C; a little noise frays the snow line.
    snow = np.clip((-1.0 - temp) / 4.0 - 0.15 * st.texture, 0.0, 1.0)
    green = greenness(st.lat, day, st.phase)
    veg_max = np.where(st.forest, 0.95, 0.9 * st.vigour) * (1.0 - st.aridity) ** 1.5
    veg_min = np.where(st.forest, 0.55, 0.05) * (1.0 - st.aridity) ** 2
    cold = np.clip((5.0 - temp) / 10.0, 0.0, 1.0)  # frost stops growth
    veg = (veg_min + (veg_max - veg_min) * green) * (1.0 - 0.7 * cold)
    veg = np.where(st.water | st.urban, 0.0, veg)

    index = tile.interp(world.cloud_index(lon_n, lat_n, day))
    cloud = np.clip(1.8 * index + 0.08 * st.texture, 0.0, 1.0)
    # Shadows: the cloud field seen from a point displaced towards the Sun (south-east in the
    # northern hemisphere, north-east in the southern one, in the late morning).
    dlat = np.where(lat_n >= 0, -0.7, 0.7) * SHADOW_KM / 111.2
    dlon = 0.7 * SHADOW_KM / (111.2 * np.maximum(np.cos(np.radians(lat_n)), 0.05))
    shade = tile.interp(world.cloud_index(lon_n + dlon, lat_n + dlat, day))
    shadow = (shade > 0.25) & (cloud < 0.3)
    cirrus_index = tile.interp(world.cloud_index(lon_n + 3.0, lat_n, day + 1000.0) - 0.8)
    cirrus = np.clip(cirrus_index, 0.0, 0.35)
    f32 = np.float32
    return Scene(
        st, veg.astype(f32), snow.astype(f32), cloud.astype(f32), cirrus.astype(f32), shadow
    )


def cloud_cover(
    bbox4326: tuple[float, float, float, float], day: float, samples: int = 12
) -> float:
    """Percentage of opaque cloud over a bbox on a day (from a coarse sample of the field)."""
    w, s, e, n = bbox4326
    lon, lat = np.meshgrid(np.linspace(w, e, samples), np.linspace(s, n, samples), indexing="xy")
    return float(np.mean(world.cloud_index(lon, lat, day) * 1.8 > 0.5) * 100.0)

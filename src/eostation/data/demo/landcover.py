"""What covers the land, by region: forest, grassland, cropland or bare ground.

The demo world has no land-cover map; it has rules that say which share of the land
each class takes at a place, from what is known of the Earth:

- Lowlands and plains in temperate, humid climates are mostly farmland (the Po
  valley, the Paris basin, the Corn Belt): crops with some meadows and little forest.
- Hills and mountains are forest and pasture below the tree line, alpine grassland
  just above it and rock higher up; the tree line falls from ~3,500 m in the
  subtropics to ~2,200 m in the Alps and sea level beyond ~72°.
- The humid tropics (the Amazon, the Congo) and the boreal belt (55–70°) are forest.
- Drylands lose their forest first, then their grass: the deserts are bare.
- The mechanised grain belts (:data:`.parcels.LARGE_FARM_REGIONS`) are cropland.

Fractions are computed on a chunk's nodes from elevation, latitude, aridity and the
real mountain ranges (:data:`MOUNTAIN_RANGES`, which also raise the demo terrain), and
turned into classes per pixel by thresholding noise (forest, bare ground) or per field
(grassland vs crops), so every class keeps its share and its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BARE",
    "CLASSES",
    "CROP",
    "FOREST",
    "GRASS",
    "MOUNTAIN_RANGES",
    "URBAN",
    "WATER",
    "CoverFractions",
    "box_weight",
    "class_map",
    "fractions",
    "mountain_ranges",
    "tree_line",
]

Fields = NDArray[np.float64]

#: Land-cover class codes of :attr:`.ground.Static.cover` (towns and roads are urban).
WATER, URBAN, FOREST, GRASS, CROP, BARE = 0, 1, 2, 3, 4, 5
CLASSES = {
    "water": WATER,
    "urban": URBAN,
    "forest": FOREST,
    "grass": GRASS,
    "crop": CROP,
    "bare": BARE,
}

#: Real mountain ranges (west, south, east, north in degrees), where the demo terrain
#: rises into mountains whatever its noise says elsewhere. Boxes, so only the cores.
MOUNTAIN_RANGES: dict[str, tuple[float, float, float, float]] = {
    "Western Alps": (5.9, 44.1, 7.6, 46.3),
    "Central and Eastern Alps": (7.0, 45.95, 15.0, 47.5),
    "Southern Prealps": (8.8, 45.85, 12.8, 46.3),  # Lake Garda's northern half, Monte Baldo
    "Pyrenees": (-1.2, 42.4, 2.6, 43.0),
    "Caucasus": (40.0, 42.3, 47.0, 43.3),
    "Himalaya and Tibet": (74.0, 28.5, 98.0, 36.0),
    "Rocky Mountains": (-116.0, 37.0, -106.0, 49.0),
    "Andes": (-71.5, -33.0, -66.5, -15.0),
}
#: Width in degrees over which a mountain range fades into the plains.
_RANGE_FADE_DEG = 0.3

#: Tree line (metres) by absolute latitude: subtropics, Alps, Scandinavia, the Arctic.
_TREE_LINE_LAT = (0.0, 30.0, 46.0, 60.0, 68.0, 72.0)
_TREE_LINE_M = (3700.0, 3500.0, 2200.0, 1100.0, 500.0, 0.0)


def box_weight(
    lon: NDArray[np.floating[Any]],
    lat: NDArray[np.floating[Any]],
    boxes: dict[str, tuple[float, float, float, float]],
    fade_deg: float,
) -> Fields:
    """0 outside every box … 1 inside one, fading over ``fade_deg`` across its edges."""
    out = np.zeros(np.broadcast(lon, lat).shape)
    for w, s, e, n in boxes.values():
        inside = np.minimum(np.minimum(lon - w, e - lon), np.minimum(lat - s, n - lat))
        np.maximum(out, np.clip(inside / fade_deg + 0.5, 0.0, 1.0), out=out)
    return out


def mountain_ranges(lon: NDArray[np.floating[Any]], lat: NDArray[np.floating[Any]]) -> Fields:
    """0 in the plains … 1 in the core of a real mountain range."""
    return box_weight(lon, lat, MOUNTAIN_RANGES, _RANGE_FADE_DEG)


def tree_line(lat: NDArray[np.floating[Any]]) -> Fields:
    """Height (m) above which no forest grows, by latitude."""
    return np.asarray(np.interp(np.abs(lat), _TREE_LINE_LAT, _TREE_LINE_M), dtype=np.float64)


def class_map(
    water: NDArray[np.bool_],
    paved: NDArray[np.bool_],
    forest: NDArray[np.bool_],
    grass: NDArray[np.bool_],
    bare: NDArray[np.bool_],
) -> NDArray[np.uint8]:
    """Class codes per pixel from the class masks; land that is none of them is crops."""
    out = np.full(water.shape, CROP, dtype=np.uint8)
    for mask, code in (
        (grass, GRASS),
        (forest, FOREST),
        (bare, BARE),
        (paved, URBAN),
        (water, WATER),
    ):
        out[mask] = code
    return out


@dataclass(frozen=True)
class CoverFractions:
    """Shares of the land (0–1) at points; crops take what the others leave."""

    forest: Fields  # of all land
    bare: Fields  # of the land that is not forest
    grass: Fields  # of the open land that is neither forest nor bare


def fractions(
    lat: Fields, elevation: Fields, aridity: Fields, relief: Fields, crop_belt: Fields
) -> CoverFractions:
    """Land-cover shares from latitude, height (m), aridity (0–1), relief (0 plains … 1
    mountains) and the grain belts (0–1)."""
    abs_lat = np.abs(lat)
    above = elevation - tree_line(lat)  # metres above the tree line
    alpine = np.clip((above + 200.0) / 400.0, 0.0, 1.0)
    # Hills and mountain slopes are forest and pasture, not fields.
    upland = np.maximum(np.clip((elevation - 450.0) / 700.0, 0.0, 1.0), 0.6 * relief)
    tropics = np.clip((22.0 - abs_lat) / 8.0, 0.0, 1.0)
    boreal = np.clip((abs_lat - 50.0) / 7.0, 0.0, 1.0) * np.clip((71.0 - abs_lat) / 3.0, 0.0, 1.0)
    temperate = 1.0 - tropics - boreal
    forest = temperate * (0.08 + 0.52 * upland) + 0.85 * tropics + 0.75 * boreal
    forest *= 1.0 - 0.7 * crop_belt
    forest *= np.clip((0.55 - aridity) / 0.35, 0.0, 1.0) * (1.0 - alpine)
    # Deserts are bare; so is the rock a few hundred metres above the tree line.
    rock = np.clip((above - 400.0) / 600.0, 0.0, 1.0)
    bare = np.maximum(np.clip((aridity - 0.55) / 0.2, 0.0, 1.0), rock)
    # Meadows and pasture: some in the farmland, most of the hills, all of the alpine
    # zone and the tundra, and the steppe between farmland and desert.
    tundra = np.clip((abs_lat - 66.0) / 4.0, 0.0, 1.0)
    steppe = np.clip((aridity - 0.35) / 0.25, 0.0, 1.0)
    grass = np.maximum.reduce(
        [0.15 + 0.65 * upland * (1.0 - crop_belt), alpine, tundra, 0.6 * boreal, 0.7 * steppe]
    )
    return CoverFractions(forest, bare, np.clip(grass, 0.0, 1.0))

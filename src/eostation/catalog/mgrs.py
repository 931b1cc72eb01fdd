"""Sentinel-2's MGRS tiling: tile ids, UTM zone and the 109.8 km tiles on the 100 km grid.

A tile covers one 100 km MGRS square plus 9.8 km of overlap to the east and south:
its upper-left corner is the square's north-west corner moved onto the 60 m lattice
(``x = ⌊E/60⌋·60``, ``y = ⌈N/60⌉·60`` in the zone's EPSG coordinates, e.g. 499980,
9200020 for 35MNM), and it spans 10980 × 10980 pixels at 10 m. Real tiles in the
southern hemisphere sit 20 m off that lattice in ``y``; here every resolution
(10/20/60 m) divides the corner, so the tile grids share pixels with the demo world's
global lattice. Zones follow the plain 6° rule (no Norway/Svalbard exceptions), and
the latitude band letter is the band of the tile centre.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from odc.geo import geom
from shapely import make_valid
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

__all__ = ["TILE_SIZE_M", "MgrsTile", "approximate_count", "tile_from_code", "tiles_intersecting"]

TILE_SIZE_M = 109_800
_SQUARE = 100_000
_COLUMN_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_LAT_LIMITS = (-80.0, 84.0)


@dataclass(frozen=True)
class MgrsTile:
    """One Sentinel-2 tile: UTM ``zone``, hemisphere, 100 km square column/row indices."""

    zone: int
    north: bool
    col: int  # easting of the square in 100 km (1..8)
    row: int  # northing of the square in 100 km, in the EPSG coordinates (false northing incl.)

    @property
    def epsg(self) -> int:
        """The tile's UTM CRS."""
        return (32600 if self.north else 32700) + self.zone

    @property
    def origin(self) -> tuple[float, float]:
        """Upper-left corner ``(x, y)`` in the tile CRS, on the 60 m lattice."""
        x = math.floor(self.col * _SQUARE / 60) * 60
        y = math.ceil((self.row + 1) * _SQUARE / 60) * 60
        return float(x), float(y)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` in the tile CRS."""
        x, y = self.origin
        return (x, y - TILE_SIZE_M, x + TILE_SIZE_M, y)

    @cached_property
    def footprint(self) -> Polygon:
        """The tile outline in EPSG:4326 (densified edges)."""
        outline = geom.box(*self.bounds, f"EPSG:{self.epsg}").to_crs(4326, resolution=25_000)
        result: Polygon = outline.geom
        if not result.is_valid or result.bounds[2] - result.bounds[0] > 180:
            # Tiles that spill over the antimeridian: keep the part in this zone's half.
            zw, ze = _zone_strip(self.zone)
            result = make_valid(result).intersection(box(zw - 10, -90, ze + 10, 90))
        return result

    @property
    def code(self) -> str:
        """The tile id, e.g. ``31UFT``."""
        column = _COLUMN_SETS[(self.zone - 1) % 3][self.col - 1]
        row_index = (self.row + (5 if self.zone % 2 == 0 else 0)) % 20
        c = self.footprint.centroid
        band = _BANDS[min(int((c.y + 80.0) // 8), len(_BANDS) - 1)]
        return f"{self.zone:02d}{band}{column}{_ROW_LETTERS[row_index]}"


def _zone_strip(zone: int) -> tuple[float, float]:
    west = -180.0 + 6.0 * (zone - 1)
    return west, west + 6.0


def approximate_count(region: BaseGeometry) -> int:
    """Roughly how many tiles cover a region's bbox (to refuse huge searches up front)."""
    w, s, e, n = region.bounds
    mid = math.radians((max(s, -85.0) + min(n, 85.0)) / 2)
    km2: float = (e - w) * 111.32 * math.cos(mid) * (n - s) * 110.57
    return math.ceil(km2 / (TILE_SIZE_M / 1000) ** 2)


def tiles_intersecting(region: BaseGeometry) -> Iterator[MgrsTile]:
    """Every tile whose footprint intersects a lon/lat region, by zone then row/column."""
    w, s, e, n = region.bounds
    s, n = max(s, _LAT_LIMITS[0]), min(n, _LAT_LIMITS[1])
    if s >= n:
        return
    first = min(int((w + 180.0) // 6.0) + 1, 60)
    last = min(int((e + 180.0) // 6.0) + 1, 60)
    for zone in range(first, last + 1):
        zw, ze = _zone_strip(zone)
        for north in (True, False):
            lat_lo, lat_hi = (max(s, 0.0), n) if north else (s, min(n, 0.0))
            if lat_lo >= lat_hi and not (north and lat_lo == lat_hi == 0.0):
                continue
            part = box(max(w, zw), lat_lo, min(e, ze), max(lat_hi, lat_lo + 1e-9))
            epsg = (32600 if north else 32700) + zone
            # Tiles reach 9.8 km past their square: widen the search by that much.
            x0, y0, x1, y1 = geom.Geometry(part, 4326).to_crs(epsg).boundingbox
            for col in range(
                max(1, math.floor((x0 - 9_800) / _SQUARE)), min(8, int(x1 // _SQUARE)) + 1
            ):
                for row in range(math.floor(y0 / _SQUARE), math.floor((y1 + 9_800) / _SQUARE) + 1):
                    tile = MgrsTile(zone, north, col, row)
                    zone_part = tile.footprint.intersection(box(zw, -90, ze, 90))
                    if not zone_part.is_empty and tile.footprint.intersects(region):
                        yield tile


def tile_from_code(code: str) -> MgrsTile | None:
    """The tile with an id such as ``31UFT`` (None when no tile has it)."""
    if len(code) != 5 or not code[:2].isdigit():
        return None
    zone, band, column, row_letter = int(code[:2]), code[2], code[3], code[4]
    columns = _COLUMN_SETS[(zone - 1) % 3] if 1 <= zone <= 60 else ""
    if band not in _BANDS or column not in columns or row_letter not in _ROW_LETTERS:
        return None
    north = band >= "N"
    shift = 5 if zone % 2 == 0 else 0
    row_mod = (_ROW_LETTERS.index(row_letter) - shift) % 20
    rows = range(0, 100) if north else range(10, 100)
    for row in rows:
        if row % 20 == row_mod:
            tile = MgrsTile(zone, north, columns.index(column) + 1, row)
            if tile.code == code:
                return tile
    return None

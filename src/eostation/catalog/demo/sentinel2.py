"""``sentinel-2-l2a``: one item per MGRS tile and datatake, as CDSE cuts Sentinel-2 L2A.

The demo source flies 143 orbit tracks, each a band of longitude; a tile on a day is
seen by the track under each of its pixels, so an item is a tile cut to one track's
band (a full tile when the tile lies within one band). Assets are the bands at their
native resolution on the tile's own grid (``B04_10m``, ``B05_20m``, ``B01_60m``,
``SCL_20m``, …), as CDSE names them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from eostation.data.demo import optical
from eostation.data.demo.bands import Band
from eostation.data.demo.grid import Grid
from eostation.data.demo.source import Acquisition, day_number

from ..mgrs import TILE_SIZE_M, MgrsTile, tile_from_code, tiles_intersecting
from .base import MAX_CELLS, Cell, DemoCollection, too_many_cells

__all__ = ["S2Collection", "s2_track"]

#: Orbit tracks of the demo source (``eostation.data.demo.sentinel2``): track ``t``
#: flies over longitudes ``[-180 + t·w, -180 + (t+1)·w)`` with ``w = 360/143``.
TRACKS = 143
_WIDTH = 360.0 / TRACKS
_BASELINE_0400 = day_number(dt.date(2022, 1, 25))
_ID = re.compile(
    r"^S2([ABC])_MSIL2A_(\d{8})T(\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8})T(\d{6})$"
)
_NODE_STEP = {10: 16, 20: 8, 60: 4}  # the 10 m nodes of the demo grid, ~160 m apart


def s2_track(lon: float) -> int:
    """The demo track (0-based) over a longitude."""
    return int((lon + 180.0) / _WIDTH) % TRACKS


def _strip(track: int) -> tuple[float, float]:
    west = -180.0 + track * _WIDTH
    return west, west + _WIDTH


class S2Collection(DemoCollection):
    """Sentinel-2 MSI L2A tiles of the demo world."""

    stac_id = "sentinel-2-l2a"
    constellation = "sentinel-2"
    instruments = ("msi",)
    product_type = "S2MSI2A"
    processing_level = "L2"
    extensions: ClassVar[tuple[str, ...]] = (
        *DemoCollection.extensions,
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    )

    def cells(self, region: BaseGeometry) -> list[Cell]:
        """Tiles (cut to tracks) intersecting the region."""
        out: list[Cell] = []
        for tile in tiles_intersecting(region):
            w, _, e, _ = tile.footprint.bounds
            for track in range(s2_track(w), s2_track(e) + 1):
                cell = self._cell(tile, track % TRACKS)
                if cell is not None and cell.footprint.intersects(region):
                    out.append(cell)
                    if len(out) > MAX_CELLS:
                        raise too_many_cells(len(out))
        return out

    def _cell(self, tile: MgrsTile, track: int) -> Cell | None:
        lo, hi = _strip(track)
        part = tile.footprint.intersection(box(lo, -90.0, hi, 90.0))
        if part.is_empty or part.area == 0:
            return None
        w, s, e, n = part.bounds
        return Cell(
            key=f"{tile.code}:{track}",
            footprint=part,
            schedule=(max(w, lo), s, min(e, hi - 1e-9), n),
            rect=(lo, -90.0, hi, 90.0),
            extra={"tile": tile, "track": track},
        )

    def item_id(self, cell: Cell, acq: Acquisition, when: dt.datetime) -> str:
        """``S2A_MSIL2A_20220505T103021_N0400_R108_T31UFT_20220505T133021``."""
        platform = str(acq.properties["platform"])[-1].upper()
        baseline = "0400" if acq.day >= _BASELINE_0400 else "0213"
        tile: MgrsTile = cell.extra["tile"]
        stamp = when.strftime("%Y%m%dT%H%M%S")
        produced = (when + dt.timedelta(hours=3)).strftime("%Y%m%dT%H%M%S")
        return (
            f"S2{platform}_MSIL2A_{stamp}_N{baseline}_R{cell.extra['track'] + 1:03d}"
            f"_T{tile.code}_{produced}"
        )

    def parse_id(self, item_id: str) -> tuple[Cell, int] | None:
        """Tile, track and day from an item id."""
        m = _ID.match(item_id)
        if m is None:
            return None
        tile = tile_from_code(m.group(6))
        track = int(m.group(5)) - 1
        if tile is None or not 0 <= track < TRACKS:
            return None
        cell = self._cell(tile, track)
        if cell is None:
            return None
        day = day_number(dt.datetime.strptime(m.group(2), "%Y%m%d").date())
        return cell, day

    def properties(self, cell: Cell, acq: Acquisition) -> dict[str, Any]:
        """Cloud cover over the footprint, MGRS tile, orbit and grid."""
        tile: MgrsTile = cell.extra["tile"]
        x, y = tile.origin
        return {
            "eo:cloud_cover": round(optical.cloud_cover(cell.footprint.bounds, acq.day), 2),
            "s2:mgrs_tile": tile.code,
            "grid:code": f"MGRS-{tile.code}",
            "mgrs:utm_zone": tile.zone,
            "mgrs:latitude_band": tile.code[2],
            "mgrs:grid_square": tile.code[3:],
            "sat:absolute_orbit": _absolute_orbit(acq, cell.extra["track"]),
            "proj:epsg": tile.epsg,
            "proj:bbox": [x, y - TILE_SIZE_M, x + TILE_SIZE_M, y],
        }

    def asset_key(self, band: Band) -> str | None:
        """``B04_10m`` and so on; the demo's ``dataMask`` has no CDSE asset."""
        if band.name == "dataMask" or band.gsd is None:
            return None
        return f"{band.name}_{int(band.gsd)}m"

    def asset_dtype(self, band: Band) -> str:
        """Reflectances, AOT and WVP are uint16 and SCL uint8 as in the real product: their
        values are ≥ 1, so 0 is nodata. CLD/SNW probabilities can be 0: float32."""
        if band.wavelength is not None or band.name in ("AOT", "WVP"):
            return "uint16"
        return "uint8" if band.name == "SCL" else "float32"

    def asset_grid(self, cell: Cell, band: Band) -> Grid:
        """The tile at the band's native resolution, anchored on the tile corner."""
        tile: MgrsTile = cell.extra["tile"]
        res = int(band.gsd or 10)
        x, y = tile.origin
        n = TILE_SIZE_M // res
        return Grid(tile.epsg, res, res, int(x // res), int(-y // res), n, n, _NODE_STEP[res])


def _absolute_orbit(acq: Acquisition, track: int) -> int:
    # 143 orbits per 10-day cycle since each platform's first orbit.
    starts = {
        "sentinel-2a": (2015, 6, 23),
        "sentinel-2b": (2017, 3, 7),
        "sentinel-2c": (2024, 9, 5),
    }
    start = day_number(dt.date(*starts.get(str(acq.properties.get("platform")), (2015, 6, 23))))
    return max(1, (acq.day - start) * TRACKS // 10 + track + 1)

"""``sentinel-2-l2a``: one item per MGRS tile and datatake, as CDSE cuts Sentinel-2 L2A.

A tile on a pass is the part of the tile inside the pass's swath (the whole tile
unless the swath edge crosses it). Assets are the bands at their native resolution on
the tile's own grid (``B04_10m``, ``B05_20m``, ``B01_60m``, ``SCL_20m``, …), as CDSE
names them; pixels outside the swath are nodata.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from shapely.geometry.base import BaseGeometry

from eostation.data.demo import optical, world
from eostation.data.demo.bands import Band
from eostation.data.demo.grid import Grid
from eostation.data.demo.source import Acquisition, day_number

from ..mgrs import TILE_SIZE_M, MgrsTile, approximate_count, tile_from_code, tiles_intersecting
from .base import MAX_CELLS, Cell, DemoCollection, Stub, too_many_cells
from .passes import acquisition_of, passes_over

__all__ = ["S2Collection"]

_BASELINE_0400 = day_number(dt.date(2022, 1, 25))
_ID = re.compile(
    r"^S2([ABC])_MSIL2A_(\d{8})T(\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8})T(\d{6})$"
)
#: Samples per side of ``optical.cloud_cover`` (its default).
_SAMPLES = 12
_NODE_STEP = {10: 16, 20: 8, 60: 4}  # the 10 m nodes of the demo grid, ~160 m apart


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

    def stubs(self, region: BaseGeometry, first: int, stop: int) -> list[Stub]:
        """Every tile intersecting the region on every pass over it."""
        if (rough := approximate_count(region)) > MAX_CELLS:
            raise too_many_cells(rough)
        first, stop = self.operating_days(first, stop)
        out: list[Stub] = []
        for tile in tiles_intersecting(region):
            bounds = tile.footprint.bounds
            for p in passes_over("sentinel-2", bounds, first, stop):
                part = tile.footprint.intersection(p.footprint)
                if part.is_empty or part.area == 0 or not part.intersects(region):
                    continue
                cell = Cell(key=tile.code, footprint=part, mask=p.footprint, extra={"tile": tile})
                acq = acquisition_of(p)
                out.append(Stub(cell, acq, self._id(tile, acq, p.start), p.start))
        return out

    def _id(self, tile: MgrsTile, acq: Acquisition, when: dt.datetime) -> str:
        """``S2A_MSIL2A_20220505T103021_N0400_R108_T31UFT_20220505T133021``."""
        platform = str(acq.properties["platform"])[-1].upper()
        baseline = "0400" if acq.day >= _BASELINE_0400 else "0213"
        stamp = when.strftime("%Y%m%dT%H%M%S")
        produced = (when + dt.timedelta(hours=3)).strftime("%Y%m%dT%H%M%S")
        orbit = int(acq.properties["sat:relative_orbit"])
        return f"S2{platform}_MSIL2A_{stamp}_N{baseline}_R{orbit:03d}_T{tile.code}_{produced}"

    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """The tile and day an item id names."""
        m = _ID.match(item_id)
        tile = tile_from_code(m.group(6)) if m else None
        if m is None or tile is None:
            return None
        day = day_number(dt.datetime.strptime(m.group(2), "%Y%m%d").date())
        return tile.footprint, day

    def properties(self, cell: Cell, acq: Acquisition) -> dict[str, Any]:
        """Cloud cover over the footprint, MGRS tile and grid."""
        cover = optical.cloud_cover(cell.footprint.bounds, acq.day)
        return self._properties(cell, cover)

    def batch_properties(self, stubs: Sequence[Stub]) -> dict[str, dict[str, Any]]:
        """Cloud cover of many items: one evaluation of the cloud field per day."""
        by_day: dict[int, list[Stub]] = defaultdict(list)
        for stub in stubs:
            by_day[stub.acquisition.day].append(stub)
        out = {}
        for day, group in by_day.items():
            covers = cloud_covers([s.cell.footprint.bounds for s in group], day)
            for stub, cover in zip(group, covers, strict=True):
                out[stub.id] = self._properties(stub.cell, cover)
        return out

    def _properties(self, cell: Cell, cover: float) -> dict[str, Any]:
        tile: MgrsTile = cell.extra["tile"]
        x, y = tile.origin
        return {
            "eo:cloud_cover": round(cover, 2),
            "s2:mgrs_tile": tile.code,
            "grid:code": f"MGRS-{tile.code}",
            "mgrs:utm_zone": tile.zone,
            "mgrs:latitude_band": tile.code[2],
            "mgrs:grid_square": tile.code[3:],
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


def cloud_covers(bboxes: Sequence[tuple[float, float, float, float]], day: int) -> list[float]:
    """``optical.cloud_cover`` of several bboxes on one day, in one pass over the field."""
    n = _SAMPLES
    lons, lats = [], []
    for w, s, e, north in bboxes:
        lon, lat = np.meshgrid(np.linspace(w, e, n), np.linspace(s, north, n), indexing="xy")
        lons.append(lon)
        lats.append(lat)
    cloudy = world.cloud_index(np.concatenate(lons), np.concatenate(lats), day) * 1.8 > 0.5
    return [float(np.mean(part) * 100.0) for part in np.split(cloudy, len(bboxes))]

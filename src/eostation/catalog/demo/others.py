"""Items of the demo collections cut into lon/lat cells: Sentinel-1 slices, Sentinel-3
frames, Sentinel-5P orbits and Copernicus DEM 1° tiles.

Each cell is a lon/lat rectangle inside which the demo source has one schedule (the
Sentinel-1 track band, the Sentinel-3 5° gap cell), so its items hold exactly the
pixels ``load_collection`` returns for their date. Assets are one COG per band on the
source's own grid over the cell.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import ClassVar

from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from eostation.data.demo.bands import Band
from eostation.data.demo.grid import Grid
from eostation.data.demo.source import Acquisition, DemoSource, day_number

from .base import MAX_CELLS, Cell, DemoCollection, too_many_cells

__all__ = [
    "DemCollection",
    "RectCollection",
    "S1Collection",
    "S3Collection",
    "S5PCollection",
]

_STAMP = "%Y%m%dT%H%M%S"


class RectCollection(DemoCollection):
    """A collection whose cells are a regular lon/lat lattice of ``(dlon, dlat)`` cells."""

    cell_deg: ClassVar[tuple[float, float]]
    lat_limits: ClassVar[tuple[float, float]] = (-90.0, 90.0)

    def _rect(self, i: int, j: int) -> tuple[float, float, float, float]:
        dlon, dlat = self.cell_deg
        return (-180.0 + i * dlon, j * dlat, -180.0 + (i + 1) * dlon, (j + 1) * dlat)

    def cell(self, i: int, j: int) -> Cell | None:
        """Cell ``(i, j)``: column ``i`` from 180° W, row ``j`` from the equator."""
        w, s, e, n = self._rect(i, j)
        lo, hi = self.lat_limits
        s, n = max(s, lo), min(n, hi)
        if s >= n or not (-180.0 <= w < 180.0):
            return None
        return Cell(
            key=f"{i}:{j}", footprint=box(w, s, e, n), schedule=(w, s, e, n), rect=(w, s, e, n)
        )

    def cells(self, region: BaseGeometry) -> list[Cell]:
        """Cells intersecting a region."""
        dlon, dlat = self.cell_deg
        w, s, e, n = region.bounds
        i0, i1 = math.floor((w + 180.0) / dlon), math.ceil((e + 180.0) / dlon)
        j0, j1 = math.floor(s / dlat), math.ceil(n / dlat)
        if (i1 - i0) * (j1 - j0) > MAX_CELLS:
            raise too_many_cells((i1 - i0) * (j1 - j0))
        out = []
        for i in range(i0, i1):
            for j in range(j0, j1):
                c = self.cell(i, j)
                if c is not None and c.footprint.intersects(region):
                    out.append(c)
        return out

    def asset_grid(self, cell: Cell, band: Band) -> Grid:
        """The source's own load grid over the cell."""
        return self.source.grid(cell.footprint.bounds, [band])

    @staticmethod
    def _indices(cell: Cell) -> tuple[int, int]:
        i, j = cell.key.split(":")
        return int(i), int(j)


class S1Collection(RectCollection):
    """``sentinel-1-grd``: IW GRD slices of ~2° along each track band."""

    stac_id = "sentinel-1-grd"
    constellation = "sentinel-1"
    instruments = ("c-sar",)
    product_type = "IW_GRDH_1S"
    processing_level = "L1"
    cell_deg = (360.0 / 175, 2.0)
    lat_limits = (-82.0, 82.0)
    extensions: ClassVar[tuple[str, ...]] = (
        *DemoCollection.extensions,
        "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    )
    _ID = re.compile(
        r"^S1[ABC]_IW_GRDH_1SDV_(\d{8})T\d{6}_\d{8}T\d{6}_\d{6}_([0-9A-F]{6})_[0-9A-F]{4}$"
    )

    def acquired_at(self, cell: Cell, acq: Acquisition) -> dt.datetime:
        """Dawn (descending) or dusk (ascending) passes, ~06:00 / ~18:00 local time."""
        local = 6.0 if acq.properties.get("sat:orbit_state") == "descending" else 18.0
        hours = min(max(local - cell.footprint.centroid.x / 15.0, 0.25), 23.5)
        return dt.datetime.combine(acq.date, dt.time(), dt.UTC) + dt.timedelta(
            seconds=round(hours * 3600)
        )

    def item_id(self, cell: Cell, acq: Acquisition, when: dt.datetime) -> str:
        """``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<crc>``; the datatake
        field carries the cell (track band and slice)."""
        i, j = self._indices(cell)
        platform = str(acq.properties["platform"])[-1].upper()
        stop = when + dt.timedelta(seconds=25)
        orbit = max(1, (acq.day - day_number(dt.date(2014, 4, 3))) * 175 // 12 + i)
        datatake = i * 1000 + (j + 500)
        return (
            f"S1{platform}_IW_GRDH_1SDV_{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{orbit:06d}_{datatake:06X}_{(orbit * 31 + datatake) % 65536:04X}"
        )

    def parse_id(self, item_id: str) -> tuple[Cell, int] | None:
        """Cell and day from an item id."""
        m = self._ID.match(item_id)
        if m is None:
            return None
        i, j = divmod(int(m.group(2), 16), 1000)
        cell = self.cell(i, j - 500)
        day = day_number(dt.datetime.strptime(m.group(1), "%Y%m%d").date())
        return (cell, day) if cell else None


class S3Collection(RectCollection):
    """Sentinel-3 frames: 5° cells, the demo's unit of daily coverage gaps."""

    constellation = "sentinel-3"
    cell_deg = (5.0, 5.0)
    code: ClassVar[str]  # e.g. "OL_1_EFR___"

    def __init__(self, source: DemoSource, stac_id: str, code: str, instrument: str) -> None:
        super().__init__(source)
        self.stac_id = stac_id  # type: ignore[misc]
        self.code = code  # type: ignore[misc]
        self.product_type = code  # type: ignore[misc]
        self.instruments = (instrument,)  # type: ignore[misc]
        self.processing_level = "L" + code[3]  # type: ignore[misc]
        self._id = re.compile(
            rf"^S3[AB]_{re.escape(code)}_(\d{{8}})T\d{{6}}_\d{{8}}T\d{{6}}_\d{{8}}T\d{{6}}"
            r"_0180_\d{3}_(\d{3})_(\d{4})_PS\d_O_NT_002$"
        )

    def item_id(self, cell: Cell, acq: Acquisition, when: dt.datetime) -> str:
        """``S3A_OL_1_EFR____<start>_<stop>_<created>_0180_<cycle>_<orbit>_<frame>_…``;
        the relative orbit and frame fields carry the cell."""
        i, j = self._indices(cell)
        platform = str(acq.properties["platform"])[-1].upper()
        stop = when + dt.timedelta(seconds=180)
        created = when + dt.timedelta(hours=2)
        cycle = (acq.day - day_number(dt.date(2016, 2, 16))) // 27 + 1
        return (
            f"S3{platform}_{self.code}_{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{created.strftime(_STAMP)}_0180_{cycle:03d}_{i + 1:03d}_{j + 100:04d}"
            f"_PS{1 if platform == 'A' else 2}_O_NT_002"
        )

    def parse_id(self, item_id: str) -> tuple[Cell, int] | None:
        """Cell and day from an item id."""
        m = self._id.match(item_id)
        if m is None:
            return None
        cell = self.cell(int(m.group(2)) - 1, int(m.group(3)) - 100)
        day = day_number(dt.datetime.strptime(m.group(1), "%Y%m%d").date())
        return (cell, day) if cell else None


class S5PCollection(RectCollection):
    """``sentinel-5p-l2``: one global item per day (the demo's daily orbit set)."""

    stac_id = "sentinel-5p-l2"
    constellation = "sentinel-5p"
    instruments = ("tropomi",)
    product_type = "L2__ALL___"
    processing_level = "L2"
    cell_deg = (360.0, 90.0)
    _ID = re.compile(r"^S5P_OFFL_L2__ALL____(\d{8})T\d{6}_\d{8}T\d{6}_\d{5}_02_020600_\d{8}T\d{6}$")

    def acquired_at(self, cell: Cell, acq: Acquisition) -> dt.datetime:
        """The day's first orbit starts at 00:30 UTC."""
        return dt.datetime.combine(acq.date, dt.time(0, 30), dt.UTC)

    def cells(self, region: BaseGeometry) -> list[Cell]:
        """The one global cell."""
        cell = Cell(
            key="0:0",
            footprint=box(-180.0, -90.0, 180.0, 90.0),
            schedule=(-180.0, -90.0, 180.0, 90.0),
            rect=None,
        )
        return [cell] if cell.footprint.intersects(region) else []

    def item_id(self, cell: Cell, acq: Acquisition, when: dt.datetime) -> str:
        """``S5P_OFFL_L2__ALL____<start>_<stop>_<orbit>_02_020600_<created>``."""
        stop = when + dt.timedelta(hours=23)
        orbit = (acq.day - day_number(dt.date(2017, 10, 13))) * 14 + 1
        created = when + dt.timedelta(days=2)
        return (
            f"S5P_OFFL_L2__ALL____{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{orbit:05d}_02_020600_{created.strftime(_STAMP)}"
        )

    def parse_id(self, item_id: str) -> tuple[Cell, int] | None:
        """The global cell and the day."""
        m = self._ID.match(item_id)
        if m is None:
            return None
        day = day_number(dt.datetime.strptime(m.group(1), "%Y%m%d").date())
        return self.cells(box(-180.0, -90.0, 180.0, 90.0))[0], day


class DemCollection(RectCollection):
    """``cop-dem-glo-30-dged-cog``: 1° tiles, one static item each."""

    stac_id = "cop-dem-glo-30-dged-cog"
    constellation = "tandem-x"
    instruments = ("tandem-x",)
    product_type = "DGE_30"
    processing_level = "L3"
    cell_deg = (1.0, 1.0)
    extensions: ClassVar[tuple[str, ...]] = (
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    )
    _ID = re.compile(r"^Copernicus_DSM_COG_10_([NS])(\d{2})_00_([EW])(\d{3})_00_DEM$")

    def acquired_at(self, cell: Cell, acq: Acquisition) -> dt.datetime:
        """The static label, 2011-01-01T00:00Z."""
        return dt.datetime.combine(acq.date, dt.time(), dt.UTC)

    def item_id(self, cell: Cell, acq: Acquisition, when: dt.datetime) -> str:
        """``Copernicus_DSM_COG_10_N50_00_E004_00_DEM`` (named by the south-west corner)."""
        w, s, _, _ = cell.footprint.bounds
        lat, lon = round(s), round(w)
        return (
            f"Copernicus_DSM_COG_10_{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00_"
            f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00_DEM"
        )

    def parse_id(self, item_id: str) -> tuple[Cell, int] | None:
        """The tile; the day is the static label."""
        m = self._ID.match(item_id)
        if m is None:
            return None
        lat = int(m.group(2)) * (1 if m.group(1) == "N" else -1)
        lon = int(m.group(4)) * (1 if m.group(3) == "E" else -1)
        cell = self.cell(lon + 180, lat)
        return (cell, day_number(self.source.start)) if cell else None

    def asset_key(self, band: Band) -> str | None:
        """CDSE's DEM items carry one asset, ``DEM``."""
        return "DEM"

"""Items of the demo collections other than Sentinel-2.

- Sentinel-1 GRD slices, Sentinel-3 frames and Sentinel-5P orbits: one item per pass
  and latitude slice (2°, 10°, pole to pole). The slice spans every longitude, so a
  footprint is the pass's swath within the slice, whatever area was searched.
- Copernicus DEM: one static item per 1° tile.

Assets are one COG per band on the source's own grid over the footprint's bbox;
pixels outside the swath are nodata.
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

from .base import MAX_CELLS, Cell, DemoCollection, Stub, too_many_cells, utc_day
from .passes import acquisition_of, passes_over

__all__ = ["DemCollection", "PassCollection", "S1Collection", "S3Collection", "S5PCollection"]

_STAMP = "%Y%m%dT%H%M%S"


class PassCollection(DemoCollection):
    """Items per pass and latitude slice of ``slice_deg`` degrees (from 90° S)."""

    mission: ClassVar[str]
    slice_deg: ClassVar[float]
    id_pattern: ClassVar[re.Pattern[str]]

    def slices(self, region: BaseGeometry) -> range:
        """Slice indices covering the region's latitudes."""
        _, s, _, n = region.bounds
        last = math.ceil(180.0 / self.slice_deg) - 1
        return range(
            max(0, math.floor((s + 90.0) / self.slice_deg)),
            min(last, math.floor((n + 90.0) / self.slice_deg)) + 1,
        )

    def slice_box(self, j: int) -> tuple[float, float, float, float]:
        """The lon/lat bbox of slice ``j`` (all longitudes)."""
        s = -90.0 + j * self.slice_deg
        return (-180.0, s, 180.0, min(90.0, s + self.slice_deg))

    def stubs(self, region: BaseGeometry, first: int, stop: int) -> list[Stub]:
        """Passes over each slice whose swath part intersects the region."""
        first, stop = self.operating_days(first, stop)
        out: list[Stub] = []
        for j in self.slices(region):
            for p in passes_over(self.mission, self.slice_box(j), first, stop):
                if not p.footprint.intersects(region):
                    continue
                cell = Cell(key=str(j), footprint=p.footprint, mask=p.footprint)
                acq = acquisition_of(p, self.acquisition_extra())
                out.append(Stub(cell, acq, self.name(acq, p.start, j), p.start))
                if len(out) > 50 * MAX_CELLS:
                    raise too_many_cells(len(out))
        return out

    def acquisition_extra(self) -> dict[str, object]:
        """Extra scene properties."""
        return {}

    def name(self, acq: Acquisition, when: dt.datetime, slice_index: int) -> str:
        """The product id of a pass over a slice."""
        raise NotImplementedError

    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """The slice and day an item id names (groups ``date`` and ``slice``)."""
        m = self.id_pattern.match(item_id)
        if m is None:
            return None
        j = int(m.group("slice"))
        if j not in range(math.ceil(180.0 / self.slice_deg)):
            return None
        day = day_number(dt.datetime.strptime(m.group("date"), "%Y%m%d").date())
        return box(*self.slice_box(j)), day

    def asset_grid(self, cell: Cell, band: Band) -> Grid:
        """The source's own load grid over the footprint's bbox."""
        return self.source.grid(cell.footprint.bounds, [band])


class S1Collection(PassCollection):
    """``sentinel-1-grd``: IW GRD slices of 2° latitude along each pass."""

    stac_id = "sentinel-1-grd"
    constellation = "sentinel-1"
    instruments = ("c-sar",)
    product_type = "IW_GRDH_1S"
    processing_level = "L1"
    mission = "sentinel-1"
    slice_deg = 2.0
    extensions: ClassVar[tuple[str, ...]] = (
        *DemoCollection.extensions,
        "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    )
    # The datatake field carries the slice: absolute orbit × 100 + slice.
    id_pattern = re.compile(
        r"^S1[ABC]_IW_GRDH_1SDV_(?P<date>\d{8})T\d{6}_\d{8}T\d{6}_\d{6}_(?P<take>[0-9A-F]{6})"
        r"_[0-9A-F]{4}$"
    )

    def acquisition_extra(self) -> dict[str, object]:
        """SAR properties."""
        return {"sar:instrument_mode": "IW", "sar:polarizations": ["VV", "VH"]}

    def name(self, acq: Acquisition, when: dt.datetime, slice_index: int) -> str:
        """``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<crc>``."""
        platform = str(acq.properties["platform"])[-1].upper()
        orbit = int(acq.properties["sat:absolute_orbit"])
        take = (orbit * 100 + slice_index) % 0x1000000
        stop = when + dt.timedelta(seconds=25)
        return (
            f"S1{platform}_IW_GRDH_1SDV_{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{orbit:06d}_{take:06X}_{(orbit * 31 + take) % 65536:04X}"
        )

    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """Slice and day from an item id."""
        m = self.id_pattern.match(item_id)
        if m is None:
            return None
        j = int(m.group("take"), 16) % 100
        if j >= 90:
            return None
        day = day_number(dt.datetime.strptime(m.group("date"), "%Y%m%d").date())
        return box(*self.slice_box(j)), day


class S3Collection(PassCollection):
    """Sentinel-3 frames: 10° latitude slices of each pass."""

    constellation = "sentinel-3"
    mission = "sentinel-3"
    slice_deg = 10.0

    def __init__(self, source: DemoSource, stac_id: str, code: str, instrument: str) -> None:
        super().__init__(source)
        self.stac_id = stac_id  # type: ignore[misc]
        self.code = code
        self.product_type = code  # type: ignore[misc]
        self.instruments = (instrument,)  # type: ignore[misc]
        self.processing_level = "L" + code[3]  # type: ignore[misc]
        self.id_pattern = re.compile(  # type: ignore[misc]
            rf"^S3[AB]_{re.escape(code)}_(?P<date>\d{{8}})T\d{{6}}_\d{{8}}T\d{{6}}_\d{{8}}T\d{{6}}"
            r"_0180_\d{3}_\d{3}_(?P<slice>\d{4})_PS\d_O_NT_002$"
        )

    def name(self, acq: Acquisition, when: dt.datetime, slice_index: int) -> str:
        """``S3A_OL_1_EFR____<start>_<stop>_<created>_0180_<cycle>_<orbit>_<frame>_…``."""
        platform = str(acq.properties["platform"])[-1].upper()
        stop = when + dt.timedelta(seconds=180)
        created = when + dt.timedelta(hours=2)
        cycle = (acq.day - day_number(dt.date(2016, 2, 16))) // 27 + 1
        orbit = int(acq.properties["sat:relative_orbit"])
        return (
            f"S3{platform}_{self.code}_{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{created.strftime(_STAMP)}_0180_{cycle:03d}_{orbit:03d}_{slice_index:04d}"
            f"_PS{1 if platform == 'A' else 2}_O_NT_002"
        )


class S5PCollection(PassCollection):
    """``sentinel-5p-l2``: one item per orbit (pole to pole), all four gases."""

    stac_id = "sentinel-5p-l2"
    constellation = "sentinel-5p"
    instruments = ("tropomi",)
    product_type = "L2__ALL___"
    processing_level = "L2"
    mission = "sentinel-5p"
    slice_deg = 180.0
    id_pattern = re.compile(
        r"^S5P_OFFL_L2__ALL____(?P<date>\d{8})T\d{6}_\d{8}T\d{6}_\d{5}_02_020600_\d{8}T\d{6}$"
    )

    def name(self, acq: Acquisition, when: dt.datetime, slice_index: int) -> str:
        """``S5P_OFFL_L2__ALL____<start>_<stop>_<orbit>_02_020600_<created>``."""
        stop = when + dt.timedelta(minutes=101)
        created = when + dt.timedelta(days=2)
        orbit = int(acq.properties["sat:absolute_orbit"])
        return (
            f"S5P_OFFL_L2__ALL____{when.strftime(_STAMP)}_{stop.strftime(_STAMP)}"
            f"_{orbit:05d}_02_020600_{created.strftime(_STAMP)}"
        )

    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """The globe and the day."""
        m = self.id_pattern.match(item_id)
        if m is None:
            return None
        day = day_number(dt.datetime.strptime(m.group("date"), "%Y%m%d").date())
        return box(*self.slice_box(0)), day


class DemCollection(DemoCollection):
    """``cop-dem-glo-30-dged-cog``: 1° tiles, one static item each."""

    stac_id = "cop-dem-glo-30-dged-cog"
    constellation = "tandem-x"
    instruments = ("tandem-x",)
    product_type = "DGE_30"
    processing_level = "L3"
    extensions: ClassVar[tuple[str, ...]] = (
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    )
    _ID = re.compile(r"^Copernicus_DSM_COG_10_([NS])(\d{2})_00_([EW])(\d{3})_00_DEM$")

    def stubs(self, region: BaseGeometry, first: int, stop: int) -> list[Stub]:
        """The 1° tiles intersecting the region, if the static date is in the window."""
        [acq] = self.source.acquisitions((0.0, 0.0, 1.0, 1.0), first, stop)
        if not first <= acq.day < stop:
            return []
        w, s, e, n = region.bounds
        lons = range(math.floor(w), min(math.ceil(e), 180) if e > w else math.floor(w) + 1)
        lats = range(max(math.floor(s), -90), min(math.ceil(n), 90) if n > s else math.floor(s) + 1)
        if len(lons) * len(lats) > MAX_CELLS:
            raise too_many_cells(len(lons) * len(lats))
        out = []
        when = utc_day(acq.day)
        for lat in lats:
            for lon in lons:
                footprint = box(lon, lat, lon + 1, lat + 1)
                if footprint.intersects(region):
                    cell = Cell(key=f"{lon}:{lat}", footprint=footprint)
                    out.append(Stub(cell, acq, _dem_name(lon, lat), when))
        return out

    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """The tile's centre and the static day."""
        m = self._ID.match(item_id)
        if m is None:
            return None
        lat = int(m.group(2)) * (1 if m.group(1) == "N" else -1)
        lon = int(m.group(4)) * (1 if m.group(3) == "E" else -1)
        return box(lon + 0.4, lat + 0.4, lon + 0.6, lat + 0.6), day_number(self.source.start)

    def asset_key(self, band: Band) -> str | None:
        """CDSE's DEM items carry one asset, ``DEM``."""
        return "DEM"

    def asset_grid(self, cell: Cell, band: Band) -> Grid:
        """The source's 1-arcsecond grid over the tile."""
        return self.source.grid(cell.footprint.bounds, [band])


def _dem_name(lon: int, lat: int) -> str:
    """``Copernicus_DSM_COG_10_N50_00_E004_00_DEM`` (named by the south-west corner)."""
    return (
        f"Copernicus_DSM_COG_10_{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00_"
        f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00_DEM"
    )

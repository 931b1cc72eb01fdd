"""Items of the endless demo world, computed for each query (deterministic, never stored).

A demo collection is cut into *cells* — regions in which the demo source has one
acquisition schedule (an MGRS tile on one orbit track, a Sentinel-1 slice, a
Sentinel-3 frame, …). An item is one cell on one acquisition: its footprint is the
cell, so it holds exactly the pixels ``load_collection`` returns for that date there.
Searches first enumerate cheap *stubs* (cell + acquisition) and build full item
documents only for the page, unless a filter or sort needs their properties.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import shapely
from shapely.geometry.base import BaseGeometry

from eostation.data.bands import Band
from eostation.data.demo.grid import Grid
from eostation.data.demo.source import Acquisition, DemoSource, day_number
from eostation.errors import RequestInvalid

from ..match import compile_filter, expr_matches, matches, sort_key, sort_property
from ..query import ItemQuery

__all__ = [
    "MAX_CELLS",
    "MAX_STUBS",
    "Cell",
    "DemoCollection",
    "Stub",
    "day_range",
    "search_stubs",
    "too_many_cells",
    "utc_day",
]

#: Most cells a search may touch, and most (cell, acquisition) pairs it may weigh
#: when a filter or sort needs every item's properties.
MAX_CELLS = 3_000
MAX_STUBS = 20_000
#: Searches whose stubs a collection remembers.
_RECENT = 16
_EPOCH = dt.date(1970, 1, 1)
# Properties known from the stub alone (no document needed to sort by them).
# Sensing start and stop around the nominal instant.
_BEFORE, _AFTER = dt.timedelta(seconds=2), dt.timedelta(seconds=3)
_CHEAP = frozenset({"datetime", "id", "collection"})


@dataclass(frozen=True)
class Cell:
    """A region with one acquisition schedule; ``key`` is unique within its collection."""

    key: str
    footprint: BaseGeometry
    #: Lon/lat area whose pixels (by centre) the item holds — the swath, for a pass —
    #: or None when every pixel of the asset grid belongs to it.
    mask: BaseGeometry | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Stub:
    """One item before its document is built."""

    cell: Cell
    acquisition: Acquisition
    id: str
    datetime: dt.datetime

    @cached_property
    def stamp(self) -> str:
        """``datetime`` as the item's ISO string (sorting compares these)."""
        return _iso(self.datetime)


class DemoCollection(ABC):
    """A catalogue collection over one demo source, with CDSE's STAC id and asset keys."""

    stac_id: ClassVar[str]
    constellation: ClassVar[str]
    instruments: ClassVar[tuple[str, ...]]
    product_type: ClassVar[str]
    processing_level: ClassVar[str]
    #: Extensions the items declare.
    extensions: ClassVar[tuple[str, ...]] = (
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    )

    def __init__(self, source: DemoSource) -> None:
        self.source = source
        self._recent: OrderedDict[tuple[bytes, int, int], list[Stub]] = OrderedDict()
        self._templates: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def cached_stubs(self, region: BaseGeometry, first: int, stop: int) -> list[Stub]:
        """:meth:`stubs`, remembered for the last few searches (paging repeats them)."""
        key = (region.wkb, first, stop)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        stubs = self.stubs(region, first, stop)
        with self._lock:
            self._recent[key] = stubs
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        return stubs

    # -- what a subclass provides -----------------------------------------------------

    @abstractmethod
    def stubs(self, region: BaseGeometry, first: int, stop: int) -> list[Stub]:
        """Every item over a lon/lat region with days in ``[first, stop)``, as stubs."""

    @abstractmethod
    def parse_id(self, item_id: str) -> tuple[BaseGeometry, int] | None:
        """A region holding the item an id names and its day (None: not one of ours)."""

    @abstractmethod
    def asset_grid(self, cell: Cell, band: Band) -> Grid:
        """The pixel grid of one band's asset."""

    def properties(self, cell: Cell, acq: Acquisition) -> dict[str, Any]:
        """Collection-specific properties (beyond the common ones)."""
        return {}

    # -- searching ----------------------------------------------------------------------

    def operating_days(self, first: int, stop: int) -> tuple[int, int]:
        """``[first, stop)`` clipped to the source's operating period."""
        lo = day_number(self.source.start)
        hi = day_number(self.source.end) if self.source.end else day_number(dt.date.today()) + 1
        return max(first, lo), min(stop, hi)

    def batch_properties(self, stubs: Sequence[Stub]) -> dict[str, dict[str, Any]]:
        """Properties computed for many stubs at once (by stub id); none by default."""
        return {}

    def items_from_stubs(self, stubs: Sequence[Stub]) -> list[dict[str, Any]]:
        """The STAC Item documents of several stubs (batched where a collection can)."""
        extra = self.batch_properties(stubs)
        return [self.item_from_stub(s, extra.get(s.id)) for s in stubs]

    def item_from_stub(self, stub: Stub, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The STAC Item document of a stub (``extra``: precomputed properties)."""
        cell, acq = stub.cell, stub.acquisition
        props: dict[str, Any] = {
            "datetime": _iso(stub.datetime),
            "start_datetime": _iso(stub.datetime - _BEFORE),
            "end_datetime": _iso(stub.datetime + _AFTER),
            "constellation": self.constellation,
            "instruments": list(self.instruments),
            "product:type": self.product_type,
            "processing:level": self.processing_level,
            "eostation:collection": self.source.id,
            "eostation:synthetic": True,
        }
        props.update({k: v for k, v in acq.properties.items() if v is not None})
        props["datetime"] = _iso(stub.datetime)
        props.update(self.properties(cell, acq) if extra is None else extra)
        published = _iso(stub.datetime + dt.timedelta(hours=3))
        props.update(created=published, published=published, updated=published)
        geometry = cell.footprint
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": list(self.extensions),
            "id": stub.id,
            "collection": self.stac_id,
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geometry, 1e-7))),
            "bbox": [round(v, 7) for v in geometry.bounds],
            "properties": props,
            "links": [],
            "assets": self.assets(stub),
        }

    def assets(self, stub: Stub) -> dict[str, Any]:
        """One Cloud-Optimized GeoTIFF asset per band, rendered on demand."""
        template = self._asset_template(stub.cell)
        # Fresh containers: callers may edit an item's assets, never the shared template.
        return {
            key: {
                "href": f"/stac/v1/assets/{self.stac_id}/{stub.id}/{key}.tif",
                **fields,
                "roles": list(fields["roles"]),
                "proj:shape": list(fields["proj:shape"]),
                "proj:transform": list(fields["proj:transform"]),
                "raster:bands": [dict(b) for b in fields["raster:bands"]],
            }
            for key, fields in template.items()
        }

    def template_key(self, cell: Cell) -> Any:
        """What the asset grids of a cell depend on (cells with equal keys share assets)."""
        return (cell.key, cell.footprint.bounds)

    def _asset_template(self, cell: Cell) -> dict[str, Any]:
        """The assets of a cell without hrefs; items of one cell share them (cached)."""
        key = self.template_key(cell)
        with self._lock:
            if key in self._templates:
                return self._templates[key]
        out: dict[str, Any] = {}
        for band in self.source.bands:
            asset_key = self.asset_key(band)
            if asset_key is None:
                continue
            grid = self.asset_grid(cell, band)
            dtype = self.asset_dtype(band)
            raster: dict[str, Any] = {
                "data_type": dtype,
                "nodata": 0 if dtype != "float32" else "nan",
            }
            if band.scale is not None:
                raster["scale"] = band.scale
            if band.offset is not None:
                raster["offset"] = band.offset
            if band.unit:
                raster["unit"] = band.unit
            if band.gsd:
                raster["spatial_resolution"] = band.gsd
            transform = [grid.rx, 0.0, grid.ix0 * grid.rx, 0.0, -grid.ry, -grid.iy0 * grid.ry]
            out[asset_key] = {
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": band.description,
                "roles": ["data"],
                "proj:epsg": grid.epsg,
                "proj:shape": [grid.ny, grid.nx],
                "proj:transform": transform,
                "raster:bands": [raster],
            }
        with self._lock:
            self._templates[key] = out
            while len(self._templates) > 4 * _RECENT:
                self._templates.popitem(last=False)
        return out

    def asset_dtype(self, band: Band) -> str:
        """The COG sample type: float32 with NaN as nodata unless a collection knows that 0
        never occurs in a band (then an integer type with 0 as nodata)."""
        return "float32"

    def asset_key(self, band: Band) -> str | None:
        """The asset key of a band (None: no asset)."""
        return band.name

    def band_of(self, key: str) -> Band | None:
        """The band behind an asset key."""
        for band in self.source.bands:
            if self.asset_key(band) == key:
                return band
        return None

    def lookup(self, item_id: str) -> Stub | None:
        """The stub an id names, if that item exists."""
        parsed = self.parse_id(item_id)
        if parsed is None:
            return None
        region, day = parsed
        return next((s for s in self.stubs(region, day, day + 1) if s.id == item_id), None)


def search_stubs(
    collection: DemoCollection, stubs: Sequence[Stub], query: ItemQuery
) -> tuple[list[Stub] | list[dict[str, Any]], int]:
    """Filter and sort stubs; build documents first only when the query needs them.

    Returns the ordered matches (stubs, or documents when they had to be built) and
    their count.
    """
    expr = compile_filter(query.filter, trusted=query.filter_trusted)
    if query.ids is not None:
        stubs = [s for s in stubs if s.id in query.ids]
    if query.datetime is not None:
        lo, hi = query.datetime
        stubs = [
            s
            for s in stubs
            if (hi is None or s.datetime - _BEFORE <= hi)
            and (lo is None or s.datetime + _AFTER >= lo)
        ]
    needs_docs = expr is not None or any(
        sort_property(name) not in _CHEAP for name, _ in query.sortby
    )
    if not needs_docs:
        ordered = sorted(stubs, key=_stub_key(collection, query))
        return ordered, len(ordered)
    if len(stubs) > MAX_STUBS:
        raise RequestInvalid(
            reason=f"filter/sortby: {len(stubs)} demo items would have to be computed "
            f"(at most {MAX_STUBS}); narrow bbox or datetime."
        )
    docs = collection.items_from_stubs(stubs)
    docs = [d for d in docs if matches(d, query, None, spatial=False)]
    if expr is not None:
        docs = [d for d in docs if expr_matches(expr, d)]
    docs.sort(key=sort_key(query.sortby))
    return docs, len(docs)


def _stub_key(collection: DemoCollection, query: ItemQuery) -> Any:
    """Sort stubs as their documents would sort (datetime, id, collection only)."""
    key = sort_key(query.sortby)

    def stub_key(stub: Stub) -> Any:
        return key(
            {
                "id": stub.id,
                "collection": collection.stac_id,
                "properties": {"datetime": stub.stamp},
            }
        )

    return stub_key


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_range(query: ItemQuery) -> tuple[int, int]:
    """Day numbers ``[first, stop)`` that can hold items of the query's interval."""
    lo, hi = query.datetime or (None, None)
    first = (lo.date() - _EPOCH).days if lo else -(10**6)
    stop = (hi.date() - _EPOCH).days + 1 if hi else 10**6
    return first, stop


def utc_day(day: int) -> dt.datetime:
    """Midnight UTC starting a day number."""
    return dt.datetime.combine(_EPOCH + dt.timedelta(days=day), dt.time(), dt.UTC)


def iso(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``."""
    return _iso(value)


def too_many_cells(count: int) -> RequestInvalid:
    """The error for a search region that covers too many cells."""
    return RequestInvalid(
        reason=f"bbox/intersects: the region covers {count} demo-world scenes per date "
        f"(at most {MAX_CELLS}); search a smaller area."
    )

"""The base of every demo collection: request validation, the time axis and the lazy cube.

A subclass describes its bands, its grid, when it acquires data and how to render
one band of one chunk (its STAC document follows from class attributes); this class
turns that into a dask-backed
``xarray.DataArray`` with dims ``("t", "bands", "y", "x")``. Each chunk is built on
demand by :func:`dask.array.map_blocks` from world coordinates and dates only, so
values never depend on the chunking or on the request window. A subclass whose bands
share expensive per-chunk fields provides :meth:`DemoSource.chunk_fields`: a
multi-band cube then gets one task per chunk that computes them once, and the chunk's
band tasks depend on it.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from odc.geo.xr import xr_coords
from shapely.geometry import shape

from eostation.data.base import LoadRequest, load_error
from eostation.errors import NoDataAvailable

from ..bands import Band, select_bands
from ..document import queryables_document
from .acquisitions import EPOCH, Acquisition, day_number, first_day_at, orbit_acquisitions
from .grid import Grid, Tile, bbox_in_4326, utm_epsg
from .stac import demo_collection_document, spatial_dimensions

# Acquisition, day_number and orbit_acquisitions are re-exported: every demo collection
# module imports them from here with the source classes.
__all__ = ["Acquisition", "DemoSource", "UtmGridSource", "day_number", "orbit_acquisitions"]

#: Largest chunk along ``t`` before the time axis is split (one chunk holds all dates up to it).
MAX_T_CHUNK = 128
#: Largest cube (in blocks) whose chunks get a shared task for their bands: that graph is
#: built eagerly (~6 µs and ~300 B a block), unlike the lazy ``map_blocks`` layer.
MAX_SHARED_BLOCKS = 20_000


class DemoSource(ABC):
    """A synthetic collection with CDSE's id, bands and revisit."""

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    keywords: ClassVar[tuple[str, ...]] = ()
    bands: ClassVar[tuple[Band, ...]]
    start: ClassVar[date]
    end: ClassVar[date | None] = None
    #: Pixels per chunk side.
    chunk_xy: ClassVar[int] = 512
    #: Load options this source understands (anything else is rejected).
    accepted_options: ClassVar[frozenset[str]] = frozenset()
    #: Other spellings of accepted options found in published CDSE code (alias → name).
    option_aliases: ClassVar[Mapping[str, str]] = {}
    # The STAC document (:meth:`metadata`): x/y step in degrees (None when the load grid
    # is projected and chosen per request) and how the grid is chosen; the t step
    # (ISO 8601 duration, None when irregular) and labels; extra ``summaries``.
    spatial_step: ClassVar[tuple[float, float] | None] = None
    spatial_description: ClassVar[str]
    time_step: ClassVar[str | None] = None
    time_description: ClassVar[str]
    summaries: ClassVar[Mapping[str, Any]] = {}

    # -- what a subclass provides -------------------------------------------------------

    @abstractmethod
    def grid(self, bbox4326: tuple[float, float, float, float], bands: Sequence[Band]) -> Grid:
        """The pixel grid of a load covering ``bbox4326``."""

    @abstractmethod
    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """Acquisitions over the bbox with day numbers in ``[first, stop)``."""

    @abstractmethod
    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """Values of one band on one chunk, shaped ``(len(acquisitions), ny, nx)``."""

    def chunk_fields(
        self, tile: Tile, acquisitions: Sequence[Acquisition], options: Mapping[str, Any]
    ) -> object | None:
        """Fields that every band of a chunk shares, computed once per chunk (optional).

        When a subclass overrides this, a multi-band cube gets one extra task per chunk
        that calls it; the chunk's band tasks depend on it, so dask runs them together
        and keeps the returned object alive until the last of them has rendered. The
        object itself is not passed to :meth:`render`: it pins what :meth:`render` looks
        up (see :func:`.optical.pin_chunk`) and should pickle to next to nothing.
        """
        return None

    def queryable_properties(self) -> dict[str, dict[str, Any]]:
        """JSON Schemas of the properties that ``properties`` filters may use."""
        return {}

    def property_value(
        self, acquisition: Acquisition, name: str, bbox4326: tuple[float, float, float, float]
    ) -> Any:
        """The value of a metadata property of an acquisition (expensive ones on demand)."""
        return acquisition.properties.get(name)

    # -- the CollectionSource contract ---------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The STAC Collection document (without ``links``), from the class attributes."""
        return demo_collection_document(
            collection_id=self.id,
            title=self.title,
            description=self.description,
            keywords=self.keywords,
            start=self.start,
            end=self.end,
            bands=self.bands,
            spatial=spatial_dimensions(self.spatial_step, self.spatial_description),
            time_step=self.time_step,
            time_description=self.time_description,
            # A copy: callers may edit the document, never the class's summaries.
            summaries=copy.deepcopy(dict(self.summaries)),
        )

    def queryables(self) -> dict[str, Any]:
        """JSON Schema of the properties ``load_collection(properties=...)`` can filter on."""
        return queryables_document(self.id, self.queryable_properties())

    def _options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Load options under their canonical names; unknown ones name the accepted ones."""
        options: dict[str, Any] = {}
        for key, value in given.items():
            name = self.option_aliases.get(key, key)
            if name in options and options[name] != value:
                raise load_error(
                    "featureflags", f"'{key}' and '{name}' are the same option with two values."
                )
            options[name] = value
        unknown = set(options) - self.accepted_options
        if unknown:
            accepted = sorted(self.accepted_options | set(self.option_aliases))
            raise load_error(
                "featureflags",
                f"unsupported load options {sorted(unknown)} for {self.id}; "
                + (f"it accepts {accepted}." if accepted else "it accepts none."),
            )
        return options

    def load(self, request: LoadRequest) -> xr.DataArray:
        """A lazy cube ``(t, bands, y, x)`` of float32 with NaN as nodata."""
        options = self._options(request.options)
        bbox = self._bbox(request)
        bands = select_bands(self.bands, request.bands)
        first, stop = self._days(request.temporal)
        acqs = [
            a
            for a in self.acquisitions(bbox, first, stop)
            if self._accept(a, request.properties, bbox)
        ]
        if not acqs:
            raise NoDataAvailable(
                reason=f"{self.id} has no acquisition matching the filters over {bbox} between "
                f"{EPOCH + timedelta(days=first)} and {EPOCH + timedelta(days=stop)} "
                "(exclusive); widen the temporal or spatial extent."
            )
        # The source picks the lattice; the pixels are those whose centres lie in the
        # extent as requested (reprojecting it to EPSG:4326 and back would grow it).
        grid = self.grid(bbox, bands).window(*self._native_extent(request))
        return self._cube(grid, bands, acqs, options)

    # -- internals -----------------------------------------------------------------------

    def _bbox(self, request: LoadRequest) -> tuple[float, float, float, float]:
        bbox = request.bbox
        crs: int | str = request.crs
        if bbox is None and request.geometry is not None:
            bbox = tuple(shape(request.geometry).bounds)  # type: ignore[assignment]
            crs = 4326
        return bbox_in_4326(bbox, crs)

    def _native_extent(
        self, request: LoadRequest
    ) -> tuple[tuple[float, float, float, float], int | str]:
        """The requested bbox in its own CRS (a geometry's bounds in EPSG:4326)."""
        if request.bbox is None and request.geometry is not None:
            return self._bbox(request), 4326
        assert request.bbox is not None  # _bbox has rejected a load without an extent
        return tuple(float(v) for v in request.bbox), request.crs  # type: ignore[return-value]

    def _days(self, temporal: tuple[str | None, str | None] | None) -> tuple[int, int]:
        """Clip a half-open request interval to the operating period, as day numbers."""
        lo = day_number(self.start)
        hi = day_number(self.end) if self.end else day_number(datetime.now(UTC).date()) + 1
        start, end = temporal if temporal else (None, None)
        first = first_day_at(start) if start else lo
        stop = first_day_at(end) if end else hi
        period = f"{self.start.isoformat()} to {self.end.isoformat() if self.end else 'today'}"
        if stop <= first:
            raise load_error(
                "temporal_extent", f"[{start}, {end}) is empty: the start must be before the end."
            )
        if stop <= lo or first >= hi:
            raise NoDataAvailable(
                reason=f"[{start}, {end}) is outside the operating period of {self.id} ({period})."
            )
        return max(first, lo), min(stop, hi)

    def _accept(
        self,
        acq: Acquisition,
        filters: Mapping[str, Any],
        bbox: tuple[float, float, float, float],
    ) -> bool:
        known = self.queryable_properties()
        for name, condition in filters.items():
            if name not in known:
                raise load_error(
                    "properties",
                    f"{self.id} cannot filter on '{name}'; queryable: {sorted(known) or 'none'}.",
                )
            test: Callable[[Any], Any] = condition if callable(condition) else _equal_to(condition)
            if not test(self.property_value(acq, name, bbox)):
                return False
        return True

    def _cube(
        self, grid: Grid, bands: list[Band], acqs: list[Acquisition], options: dict[str, Any]
    ) -> xr.DataArray:
        nt = len(acqs)
        t_chunk = nt if nt <= MAX_T_CHUNK else MAX_T_CHUNK // 4
        chunks = (
            _split(nt, t_chunk),
            (1,) * len(bands),
            _split(grid.ny, self.chunk_xy),
            _split(grid.nx, self.chunk_xy),
        )

        def build(block_info: dict[Any, Any] | None = None) -> np.ndarray:
            assert block_info is not None
            (t0, t1), (b0, b1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
            tile = grid.tile(y0, y1, x0, x1)
            # The chunk's shared fields (a single-band load has no task of its own for
            # them): held while its dates render, so they are not recomputed per date.
            shared = self.chunk_fields(tile, acqs[t0:t1], options)
            out = np.empty((t1 - t0, b1 - b0, y1 - y0, x1 - x0), dtype=np.float32)
            for j, band in enumerate(bands[b0:b1]):
                out[:, j] = self.render(tile, band, acqs[t0:t1], options)
            del shared
            return out

        name = f"demo-{self.id}-" + tokenize(self.id, grid, [b.name for b in bands], acqs, options)
        meta = np.empty((0, 0, 0, 0), np.float32)
        blocks = len(chunks[0]) * len(bands) * len(chunks[2]) * len(chunks[3])
        shares = type(self).chunk_fields is not DemoSource.chunk_fields
        if shares and len(bands) > 1 and blocks <= MAX_SHARED_BLOCKS:
            graph = self._shared_graph(name, grid, bands, acqs, options, chunks)
            data = da.Array(graph, name, chunks, dtype=np.float32, meta=meta)  # type: ignore[no-untyped-call]
        else:
            data = da.map_blocks(build, chunks=chunks, dtype=np.float32, meta=meta, name=name)
        times = np.array([np.datetime64(a.date.isoformat(), "ns") for a in acqs])
        coords: dict[Hashable, Any] = {"t": times, "bands": [b.name for b in bands]}
        coords.update(xr_coords(grid.geobox, dims=("y", "x")))
        cube = xr.DataArray(
            data,
            dims=("t", "bands", "y", "x"),
            coords=coords,
            name=self.id,
            attrs={
                "collection": self.id,
                "nodata": float("nan"),
                "synthetic": True,
                "raster:bands": [b.raster() for b in bands],
            },
        )
        # Band metadata travels on the bands coordinate (see eostation.engine.cube).
        cube["bands"].attrs["eo:bands"] = [b.eo() for b in bands]
        return cube

    def _shared_graph(
        self,
        name: str,
        grid: Grid,
        bands: list[Band],
        acqs: list[Acquisition],
        options: dict[str, Any],
        chunks: tuple[tuple[int, ...], ...],
    ) -> HighLevelGraph:
        """Tasks ``chunk_fields`` per chunk and one per band and chunk that depends on it."""
        shared = "demo-shared-" + name.removeprefix("demo-")
        t_at, _, y_at, x_at = ([0, *np.cumsum(c).tolist()] for c in chunks)
        dsk: dict[Any, Any] = {}
        for it, iy, ix in np.ndindex(len(chunks[0]), len(chunks[2]), len(chunks[3])):
            part = acqs[t_at[it] : t_at[it + 1]]
            # Tiles are made in the tasks: a tile caches its pixel coordinates, which
            # must not live as long as the graph.
            window = (y_at[iy], y_at[iy + 1], x_at[ix], x_at[ix + 1])
            dsk[(shared, it, iy, ix)] = (_chunk_fields, self, grid, window, part, options)
            for ib, band in enumerate(bands):
                dsk[(name, it, ib, iy, ix)] = (
                    _render_block,
                    self,
                    grid,
                    window,
                    band,
                    part,
                    options,
                    (shared, it, iy, ix),
                )
        return HighLevelGraph.from_collections(name, dsk, dependencies=())


class UtmGridSource(DemoSource):
    """A collection loaded on a 10 m grid in the UTM zone of the bbox centre."""

    spatial_description = "Loaded on the UTM zone of the bbox centre at 10 m."

    def grid(self, bbox4326: tuple[float, float, float, float], bands: Sequence[Band]) -> Grid:
        """The 10 m grid of the UTM zone of the bbox centre."""
        w, s, e, n = bbox4326
        return Grid.covering(
            bbox4326, utm_epsg((w + e) / 2, (s + n) / 2), (10.0, 10.0), node_step=16
        )


def _chunk_fields(
    source: DemoSource,
    grid: Grid,
    window: tuple[int, int, int, int],
    acquisitions: Sequence[Acquisition],
    options: Mapping[str, Any],
) -> object | None:
    return source.chunk_fields(grid.tile(*window), acquisitions, options)


def _render_block(
    source: DemoSource,
    grid: Grid,
    window: tuple[int, int, int, int],
    band: Band,
    acquisitions: Sequence[Acquisition],
    options: Mapping[str, Any],
    shared: object,
) -> np.ndarray:
    """One ``(t, 1, y, x)`` block; ``shared`` (the chunk's fields) only has to be alive."""
    tile = grid.tile(*window)
    return np.asarray(source.render(tile, band, acquisitions, options), dtype=np.float32)[:, None]


def _equal_to(expected: Any) -> Callable[[Any], Any]:
    """The test of a property filter given as a plain value rather than a callable."""
    return lambda value: value == expected


def _split(n: int, size: int) -> tuple[int, ...]:
    full, rest = divmod(n, size)
    return (size,) * full + ((rest,) if rest else ())

"""``Archive``: the user-facing handle on a HEALPix/Zarr archive."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import xarray as xr

from .grid import HealpixGrid
from .layout import ArchiveStore, Encoding
from .query import BBox, TimeRange, cells_to_grid, query_cells, query_grid
from .regrid import Method, Regridder
from .state import MANIFEST, ArchiveWriteError
from .storage import ArchiveLocation, open_location

__all__ = ["Archive", "IngestReport", "as_cube", "choose_encoding"]

_INT_TYPES = {"uint8", "uint16", "int8", "int16", "uint32", "int32"}
#: A reader of an object store looks for a newer manifest at most this often (one small
#: GET each time); a local manifest is checked on every use (a read of a small file).
_REFRESH_SECONDS: Final = 1.0


@dataclass(frozen=True)
class IngestReport:
    """What one ingest wrote."""

    dates: int
    bands: int
    chunks: int
    method: Method
    source_pixels: int


def as_cube(data: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Normalise a cube or Dataset to dims ``(t, bands, y, x)`` (missing ``t``/``bands`` added)."""
    if isinstance(data, xr.Dataset):
        names = [n for n, v in data.data_vars.items() if v.ndim >= 2]
        data = data[names].to_dataarray(dim="bands")
    rename = {d: n for d, n in (("time", "t"), ("band", "bands")) if d in data.dims}
    cube = data.rename(rename) if rename else data
    if "bands" not in cube.dims:
        cube = cube.expand_dims(bands=[str(cube.name or "value")])
    if "t" not in cube.dims:
        raise ValueError("the cube has no time dimension 't'; add one (one date per layer)")
    spatial = [d for d in cube.dims if d not in ("t", "bands")]
    if len(spatial) != 2:
        raise ValueError(f"expected two spatial dimensions, got {spatial}")
    return cube.transpose("t", "bands", *spatial)


def choose_encoding(raster: Mapping[str, Any], sample: np.ndarray) -> Encoding:
    """uint16 DN for bands whose metadata says integer DN (with or without scale/offset)
    and whose values are non-negative integers below 65535; float32 otherwise."""
    dn_like = raster.get("data_type") in _INT_TYPES or "scale" in raster
    finite = sample[np.isfinite(sample)]
    if (
        dn_like
        and finite.size
        and finite.min() >= 0
        and finite.max() < 65535
        and np.allclose(finite, np.rint(finite))
    ):
        return Encoding("uint16")
    return Encoding("float32")


class Archive:
    """A HEALPix/Zarr archive at a path or fsspec URL (created by the first ingest).

    ``options`` are fsspec storage options (``storage.options``: S3 endpoint, keys).
    """

    def __init__(
        self,
        path: Path | str,
        grid: HealpixGrid | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = str(path)
        local = "://" not in self.url or self.url.startswith("file://")
        self.path = Path(self.url.removeprefix("file://")) if local else None
        self._options = dict(options or {})
        self._grid = grid
        self._store: ArchiveStore | None = None
        self._checked = 0.0
        self._manifest: bytes | None = None
        self._location: ArchiveLocation | None = None

    @property
    def location(self) -> ArchiveLocation:
        """Where the archive is stored (read-only handle)."""
        if self._location is None:
            self._location = open_location(self.url, self._options, read_only=True)
        return self._location

    @property
    def exists(self) -> bool:
        """Whether the archive has been created."""
        return self.location.read(MANIFEST) is not None or self.location.exists("zarr.json")

    @property
    def store(self) -> ArchiveStore:
        """The published state (raises ``FileNotFoundError`` before the first ingest).

        Re-opened when another process published a newer manifest.
        """
        now = time.monotonic()
        fresh = 0.0 if self.location.is_local else _REFRESH_SECONDS
        if self._store is not None and now - self._checked < fresh:
            return self._store
        raw = self.location.read(MANIFEST)
        if self._store is None or raw != self._manifest:
            if raw is None and not self.location.exists("zarr.json"):
                raise FileNotFoundError(f"no archive at {self.url}")
            self._store = ArchiveStore.open(self.location, "r", manifest=raw)
            self._manifest = raw
        self._checked = now
        return self._store

    @property
    def grid(self) -> HealpixGrid:
        """The archive's HEALPix grid."""
        try:
            return self.store.grid
        except FileNotFoundError:
            return self._grid or HealpixGrid()

    def _writer(self) -> ArchiveStore:
        location = open_location(self.url, self._options)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = location.read(MANIFEST)
        if raw is not None or location.exists("zarr.json"):
            return ArchiveStore.open(location, "r+", manifest=raw)
        return ArchiveStore.create(location, self._grid or HealpixGrid())

    # -- ingest ------------------------------------------------------------------------------

    def ingest(
        self,
        cube: xr.DataArray | xr.Dataset,
        *,
        method: Method | None = None,
        clip: BBox | None = None,
        encodings: Mapping[str, Encoding] | None = None,
        raster: Sequence[Mapping[str, Any]] | None = None,
    ) -> IngestReport:
        """Regrid a cube ``(t, bands, y, x)`` onto the cells and merge it in.

        Cells the cube has no data for keep what they hold; cells it has data for take
        the new value, so re-ingesting the same cube changes nothing. ``clip`` (lon/lat)
        restricts the write to cells whose centre lies inside (tiles with a margin).
        ``raster`` (STAC ``raster:bands``) stands in for ``cube.attrs["raster:bands"]`` when
        the file lost it (GeoTIFF); it picks uint16 DN storage for scaled bands.
        """
        cube = as_cube(cube)
        geobox = cube.odc.geobox
        if geobox is None:
            raise ValueError("the cube has no georeferencing (odc-geo cannot find its CRS)")
        store = self._writer()
        regridder = Regridder(geobox, store.grid, method, clip)
        names = [str(b) for b in cube.bands.values]
        entries = raster if raster is not None else cube.attrs.get("raster:bands", [])
        raster_by = {str(r.get("name")): dict(r) for r in entries}
        times = cube.t.values
        try:
            for i in range(times.size):
                layers = np.asarray(cube.isel(t=i).values, dtype=np.float32)
                for j, band in enumerate(names):
                    if band not in store.bands():
                        enc = (encodings or {}).get(band) or choose_encoding(
                            raster_by.get(band, {}), layers[j]
                        )
                        store.add_band(band, enc, raster_by.get(band, {"name": band}))
                seconds = store.stage_date(np.datetime64(times[i], "s"))
                for j, band in enumerate(names):
                    store.write_chunks(band, seconds, regridder.chunks, regridder.layer(layers[j]))
            store.commit()
        except ValueError:
            raise
        except Exception as exc:
            raise ArchiveWriteError(
                f"ingest into {self.url} failed ({type(exc).__name__}: {exc}); nothing of it "
                "was published and the archive keeps its previous state"
            ) from exc
        self._store = None
        return IngestReport(
            times.size, len(names), int(regridder.chunks.size), regridder.method, cube.size
        )

    # -- query -------------------------------------------------------------------------------

    def query(
        self,
        bbox: BBox,
        time: TimeRange = None,
        resolution: float | None = None,
        *,
        shape: tuple[int, int] | None = None,
        bands: Sequence[str] | None = None,
    ) -> xr.Dataset:
        """Data in ``bbox`` (lon/lat) and ``time`` (``[start, end)`` or one day).

        With ``resolution`` (degrees) or ``shape`` the result is a regular lon/lat grid,
        ``(time, latitude, longitude)`` per band; without, the native cells
        ``(time, cells)`` with xdggs-compatible ``cell_ids``.
        """
        if resolution is None and shape is None:
            return query_cells(self.store, bbox, time, bands)
        return query_grid(self.store, bbox, time, resolution, shape, bands)

    def to_grid(self, ds: xr.Dataset, resolution: float, bbox: BBox | None = None) -> xr.Dataset:
        """Resample a native-cell Dataset from :meth:`query` to a regular lon/lat grid."""
        return cells_to_grid(ds, self.grid.level, resolution, bbox)

    def plot(
        self,
        bbox: BBox,
        time: TimeRange = None,
        resolution: float | None = None,
        *,
        bands: Sequence[str] | None = None,
        path: Path | str | None = None,
    ) -> Any:
        """Plot a query (RGB from three bands, else one band with a colour bar); save to ``path``."""
        from .plot import plot_dataset

        res = resolution or max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 800
        return plot_dataset(self.query(bbox, time, res, bands=bands), path)

    def info(self) -> dict[str, Any]:
        """Bands, encodings, dates, stored shards, bytes on disk and coverage bbox."""
        from .inventory import describe

        return describe(self.store)

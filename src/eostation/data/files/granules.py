"""Discover the granules of a local-file collection: one file (or one time step of a
netCDF/Zarr file) with its acquisition time and its native pixel grid.

Scanning reads headers only (rasterio for GeoTIFF/COG, xarray's lazy backends for
netCDF/Zarr); swath products also read their lat/lon arrays to know their footprint.
"""

from __future__ import annotations

import functools
import glob
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from odc.geo.crs import CRS
from odc.geo.geobox import GeoBox
from rasterio.transform import Affine

from .config import CollectionConfigError, FileCollectionConfig

__all__ = ["Granule", "discover", "open_gridded"]

Kind = Literal["tiff", "gridded", "swath"]
_GRIDDED = (".nc", ".nc4", ".h5", ".zarr")
# Header reads overlap: on a cold cache (or a network file system) each one waits for I/O.
_SCAN_THREADS = 8


@dataclass(frozen=True)
class Granule:
    """One readable layer: ``index`` is the position on the file's time axis (None when
    the file has none), ``geobox`` the native grid (the binning grid for swaths),
    ``band`` the one band a single-band file holds (None: the file holds all bands),
    ``block`` the rows × cols of the file's compressed tiles or chunks (None: unknown)."""

    path: Path
    kind: Kind
    time: np.datetime64
    geobox: GeoBox
    index: int | None = None
    nodata: float | None = None
    band: str | None = None
    block: tuple[int, int] | None = None

    @property
    def bbox4326(self) -> tuple[float, float, float, float]:
        """Footprint bounds in EPSG:4326."""
        return _bbox4326(self.geobox)


@functools.lru_cache(maxsize=1024)
def _bbox4326(geobox: GeoBox) -> tuple[float, float, float, float]:
    # The dates of a netCDF/Zarr file (or files on one tiling) share their grid: the
    # footprint is projected once, not once per date and request.
    w, s, e, n = geobox.geographic_extent.boundingbox
    return (float(w), float(s), float(e), float(n))


def open_gridded(path: Path, group: str | None) -> xr.Dataset:
    """Open a netCDF or Zarr file lazily (no dask: windows are read on demand)."""
    if path.suffix == ".zarr" or (path / ".zgroup").exists() or (path / "zarr.json").exists():
        return xr.open_dataset(path, engine="zarr", group=group, chunks=None)
    return xr.open_dataset(path, engine="h5netcdf", group=group, chunks=None, phony_dims="access")


def _paths(cfg: FileCollectionConfig) -> list[Path]:
    found: set[Path] = set()
    for pattern in cfg.paths:
        full = pattern if Path(pattern).is_absolute() else str(cfg.root / pattern)
        found.update(Path(p) for p in glob.glob(full, recursive=True))
    if not found:
        raise CollectionConfigError(
            cfg.id, "paths", f"no file matches {list(cfg.paths)} (relative to {cfg.root})."
        )
    return sorted(found)


def _parse_time(cfg: FileCollectionConfig, text: str, origin: str) -> np.datetime64:
    try:
        if cfg.date.format:
            ts = pd.Timestamp(datetime.strptime(text, cfg.date.format))
        else:
            ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise CollectionConfigError(
            cfg.id, "date", f"cannot read a date from {text!r} ({origin}): {exc}."
        ) from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return np.datetime64(ts.to_datetime64(), "ns")


def _time_from_name(cfg: FileCollectionConfig, path: Path) -> np.datetime64:
    assert cfg.date.regex is not None
    match = cfg.date.regex.search(path.name)
    if match is None:
        raise CollectionConfigError(
            cfg.id,
            "date.regex",
            f"{cfg.date.regex.pattern!r} does not match the file name {path.name!r}.",
        )
    return _parse_time(cfg, match.group("date"), path.name)


@functools.lru_cache(maxsize=64)
def _parsed_crs(text: str) -> CRS:
    # The files of a collection share a CRS or a few: each is parsed once, not per file.
    return CRS(text)


def _crs(cfg: FileCollectionConfig, found: Any, path: Path) -> CRS:
    if found:
        return _parsed_crs(found if isinstance(found, str) else found.to_wkt())
    if cfg.crs:
        return _parsed_crs(cfg.crs)
    raise CollectionConfigError(
        cfg.id, "crs", f"{path.name} has no CRS; set 'crs' for this collection."
    )


def band_of_file(cfg: FileCollectionConfig, path: Path) -> str | None:
    """The band a file holds when ``date.regex`` has a ``band`` group (one file per band
    and date, as STAC items keep them); None when files hold all bands."""
    regex = cfg.date.regex
    if regex is None or "band" not in regex.groupindex:
        return None
    match = regex.search(path.name)
    return None if match is None else match.group("band")


def _tiff(cfg: FileCollectionConfig, path: Path) -> list[Granule]:
    band = band_of_file(cfg, path)
    if band is not None and band not in {str(s.source) for s in cfg.bands}:
        return []  # a band the collection does not serve (e.g. B01 next to B02 … B12)
    with rasterio.open(path) as ds:
        crs = _crs(cfg, ds.crs, path)
        tags = ds.tags()
        for spec in cfg.bands if band is None else ():
            if isinstance(spec.source, int) and spec.source > ds.count:
                raise CollectionConfigError(
                    cfg.id, "bands.source", f"{path.name} has {ds.count} bands, not {spec.source}."
                )
            if isinstance(spec.source, str) and spec.source not in _tiff_band_names(ds):
                raise CollectionConfigError(
                    cfg.id, "bands.source", f"{path.name} has no band described {spec.source!r}."
                )
        geobox = GeoBox((ds.height, ds.width), ds.transform, crs)
        nodata = None if ds.nodata is None else float(ds.nodata)
        rows, cols = ds.block_shapes[0]
    if cfg.date.regex is not None:
        time = _time_from_name(cfg, path)
    elif cfg.date.attribute is not None and cfg.date.attribute in tags:
        time = _parse_time(cfg, tags[cfg.date.attribute], f"tag of {path.name}")
    else:
        raise CollectionConfigError(
            cfg.id, "date", f"{path.name}: GeoTIFFs need 'regex' or an 'attribute' the file has."
        )
    return [Granule(path, "tiff", time, geobox, None, nodata, band, (int(rows), int(cols)))]


def _tiff_band_names(ds: Any) -> list[str]:
    return [d or ds.tags(i + 1).get("DESCRIPTION", "") for i, d in enumerate(ds.descriptions)]


def grid_of(cfg: FileCollectionConfig, ds: xr.Dataset, var: str, path: Path) -> GeoBox:
    """The regular grid of a netCDF/Zarr variable from its 1-D pixel-centre coordinates."""
    da = ds[var]
    ydim, xdim = da.dims[-2:]
    x, y = ds[xdim].values.astype("float64"), ds[ydim].values.astype("float64")
    if x.size < 2 or y.size < 2:
        raise CollectionConfigError(
            cfg.id, "paths", f"{path.name}: {var} needs at least 2×2 pixels."
        )
    dx, dy = (x[-1] - x[0]) / (x.size - 1), (y[-1] - y[0]) / (y.size - 1)
    found = None
    mapping = da.attrs.get("grid_mapping") or da.encoding.get("grid_mapping")
    for name in (mapping, "spatial_ref", "crs"):
        if name and name in ds.variables:
            attrs = ds[name].attrs
            found = attrs.get("crs_wkt") or attrs.get("spatial_ref")
            if found:
                break
    if found is None and {xdim, ydim} <= {"lon", "lat", "longitude", "latitude"}:
        found = "EPSG:4326"
    crs = _crs(cfg, found, path)
    affine = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    return GeoBox((y.size, x.size), affine, crs)


def _stored_chunks(var: xr.DataArray) -> tuple[int, int] | None:
    """Rows × cols of a netCDF/Zarr variable's stored chunks (None: contiguous)."""
    chunks = var.encoding.get("chunks") or var.encoding.get("chunksizes")
    if not chunks or len(chunks) < 2:
        return None
    return int(chunks[-2]), int(chunks[-1])


def _gridded(cfg: FileCollectionConfig, path: Path) -> list[Granule]:
    ds = open_gridded(path, cfg.group)
    try:
        first = str(cfg.bands[0].source)
        for spec in cfg.bands:
            if str(spec.source) not in ds.variables:
                raise CollectionConfigError(
                    cfg.id, "bands.source", f"{path.name} has no variable {spec.source!r}."
                )
        if cfg.swath is not None:
            from .swath import swath_geobox

            geobox = swath_geobox(ds, cfg.swath)
        else:
            geobox = grid_of(cfg, ds, first, path)
        kind: Kind = "swath" if cfg.swath is not None else "gridded"
        block = None if kind == "swath" else _stored_chunks(ds[first])
        if cfg.date.coordinate is not None:
            name = cfg.date.coordinate
            if name not in ds.variables:
                raise CollectionConfigError(
                    cfg.id, "date.coordinate", f"{path.name} has no {name!r}."
                )
            values = np.atleast_1d(ds[name].values).astype("datetime64[ns]")
            if kind == "swath":
                values = values[:1]
            return [
                Granule(path, kind, v, geobox, i if ds[first].ndim > 2 else None, block=block)
                for i, v in enumerate(values)
            ]
        if cfg.date.regex is not None:
            time = _time_from_name(cfg, path)
        elif cfg.date.attribute is not None and cfg.date.attribute in ds.attrs:
            time = _parse_time(cfg, str(ds.attrs[cfg.date.attribute]), f"attribute of {path.name}")
        else:
            raise CollectionConfigError(
                cfg.id, "date", f"{path.name} lacks {cfg.date.attribute!r}."
            )
        return [Granule(path, kind, time, geobox, 0 if ds[first].ndim > 2 else None, block=block)]
    finally:
        ds.close()


def discover(cfg: FileCollectionConfig) -> list[Granule]:
    """All granules of a collection, ordered by time then path."""
    paths = _paths(cfg)
    tiffs = [p for p in paths if not (p.suffix in _GRIDDED or p.is_dir())]
    with ThreadPoolExecutor(min(_SCAN_THREADS, max(len(tiffs), 1))) as pool:
        # map keeps the order: the first bad file (by path) is the one reported.
        scanned = dict(zip(tiffs, pool.map(lambda p: _tiff(cfg, p), tiffs), strict=True))
    granules: list[Granule] = []
    for path in paths:
        granules.extend(scanned[path] if path in scanned else _gridded(cfg, path))
    if not granules:
        raise CollectionConfigError(
            cfg.id, "date.regex", "no file holds one of the bands of this collection."
        )
    return sorted(granules, key=lambda g: (g.time, str(g.path), g.index or 0))

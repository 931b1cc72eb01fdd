"""Read a window of a granule on its native grid as float32 with NaN for nodata."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from numpy.typing import NDArray
from rasterio.windows import Window

from .config import BandSpec, FileCollectionConfig
from .granules import Granule, open_gridded
from .swath import bin_swath

__all__ = ["read_native", "read_stack"]

Array = NDArray[np.float32]
_LOCK = threading.Lock()
_DATASETS: OrderedDict[tuple[Path, str | None], xr.Dataset] = OrderedDict()
_BINNED: OrderedDict[tuple[Path, str | None, str, float], Array] = OrderedDict()
_MAX_OPEN = 16


def _dataset(path: Path, group: str | None) -> xr.Dataset:
    # Opening a netCDF/Zarr costs tens of ms; chunks of one load reuse the handle.
    key = (path, group)
    with _LOCK:
        if key in _DATASETS:
            _DATASETS.move_to_end(key)
            return _DATASETS[key]
    ds = open_gridded(path, group)
    with _LOCK:
        _DATASETS[key] = ds
        while len(_DATASETS) > _MAX_OPEN:
            _DATASETS.popitem(last=False)[1].close()
    return ds


def _mask(values: Array, nodata: float | None) -> Array:
    if nodata is not None and not np.isnan(nodata):
        values[values == np.float32(nodata)] = np.nan
    return values


def _tiff(
    granule: Granule, bands: Sequence[BandSpec], rows: slice, cols: slice, into: Array | None
) -> Array:
    window = Window.from_slices(rows, cols)
    with rasterio.open(granule.path) as ds:
        if granule.band is not None:
            indexes = [1] * len(bands)  # a single-band file: its band is the one asked for
        elif all(isinstance(b.source, int) for b in bands):
            indexes = [int(b.source) for b in bands]
        else:
            names = [
                d or ds.tags(i + 1).get("DESCRIPTION", "") for i, d in enumerate(ds.descriptions)
            ]
            indexes = [
                b.source if isinstance(b.source, int) else names.index(b.source) + 1 for b in bands
            ]
        # GDAL converts to float32 while it reads (straight into the block when given):
        # no second pass over the window.
        if into is not None:
            out: Array = ds.read(indexes, window=window, out=into)
        else:
            out = ds.read(indexes, window=window, out_dtype=np.float32)
    for j, spec in enumerate(bands):
        nodata = spec.nodata if spec.nodata is not None else granule.nodata
        if nodata is not None and not np.isnan(nodata):
            np.copyto(out[j], np.float32(np.nan), where=out[j] == np.float32(nodata))
    return out


def _gridded(
    cfg: FileCollectionConfig, granule: Granule, bands: Sequence[BandSpec], rows: slice, cols: slice
) -> Array:
    ds = _dataset(granule.path, cfg.group)
    out = np.empty((len(bands), rows.stop - rows.start, cols.stop - cols.start), np.float32)
    for j, spec in enumerate(bands):
        var = ds[str(spec.source)]
        lead = {d: (granule.index or 0) for d in var.dims[:-2]}
        ydim, xdim = var.dims[-2:]
        window = var.isel({**lead, ydim: rows, xdim: cols})
        values: Array = np.asarray(window.values, dtype=np.float32)
        out[j] = _mask(values, spec.nodata)
    return out


def _swath(
    cfg: FileCollectionConfig, granule: Granule, bands: Sequence[BandSpec], rows: slice, cols: slice
) -> Array:
    assert cfg.swath is not None
    out = np.empty((len(bands), rows.stop - rows.start, cols.stop - cols.start), np.float32)
    for j, spec in enumerate(bands):
        key = (granule.path, cfg.group, str(spec.source), cfg.swath.resolution)
        with _LOCK:
            grid = _BINNED.get(key)
        if grid is None:
            ds = _dataset(granule.path, cfg.group)
            masked = ds[str(spec.source)]
            if spec.nodata is not None:
                masked = masked.where(masked != spec.nodata)
            grid = bin_swath(ds.assign({"_v": masked}), "_v", cfg.swath, granule.geobox)
            with _LOCK:
                _BINNED[key] = grid
                while len(_BINNED) > _MAX_OPEN:
                    _BINNED.popitem(last=False)
        out[j] = grid[rows, cols]
    return out


def read_stack(
    cfg: FileCollectionConfig,
    granules: Sequence[Granule],
    band: BandSpec,
    rows: slice,
    cols: slice,
    out: Array,
) -> None:
    """Time steps of one netCDF/Zarr file into ``out`` (``len(granules)``, rows, cols),
    float32 with NaN for nodata, read with one request: a stored chunk that holds several
    of these dates is decompressed once, not once per date."""
    ds = _dataset(granules[0].path, cfg.group)
    var = ds[str(band.source)]
    if var.ndim != 3:
        for k, granule in enumerate(granules):
            out[k] = read_native(cfg, granule, [band], rows, cols)[0]
        return
    steps = [g.index or 0 for g in granules]
    consecutive = steps == list(range(steps[0], steps[0] + len(steps)))
    taken: slice | list[int] = slice(steps[0], steps[-1] + 1) if consecutive else steps
    tdim, ydim, xdim = var.dims
    raw = np.asarray(var.isel({tdim: taken, ydim: rows, xdim: cols}).values)
    # Straight into the block, masked in place: one pass over the data, not three.
    np.copyto(out, raw, casting="unsafe")
    if band.nodata is not None and not np.isnan(band.nodata):
        np.copyto(out, np.float32(np.nan), where=raw == band.nodata)
    _scaled(cfg, [band], out[:, None])


def _scaled(cfg: FileCollectionConfig, bands: Sequence[BandSpec], out: Array) -> Array:
    """``scale``/``offset`` applied (bands on axis -3) when the collection asks for it."""
    if cfg.apply_scale:
        for j, spec in enumerate(bands):
            scale = spec.band.scale if spec.band.scale is not None else 1.0
            offset = spec.band.offset if spec.band.offset is not None else 0.0
            out[..., j, :, :] *= np.float32(scale)
            out[..., j, :, :] += np.float32(offset)
    return out


def read_native(
    cfg: FileCollectionConfig,
    granule: Granule,
    bands: Sequence[BandSpec],
    rows: slice,
    cols: slice,
    into: Array | None = None,
) -> Array:
    """Bands ``(len(bands), rows, cols)`` of a granule's native grid (slices within bounds),
    float32, NaN where nodata; ``scale``/``offset`` applied when the collection asks for it.

    ``into``: a C-contiguous float32 array of that shape to fill and return (GeoTIFFs
    are read straight into it)."""
    if granule.kind == "tiff":
        out = _tiff(granule, bands, rows, cols, into)
    elif granule.kind == "swath":
        out = _swath(cfg, granule, bands, rows, cols)
    else:
        out = _gridded(cfg, granule, bands, rows, cols)
    if into is not None and out is not into:
        into[...] = out
        out = into
    return _scaled(cfg, bands, out)

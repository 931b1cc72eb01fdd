"""Hand-written baselines of the engine benchmark: numpy over 512² tiles × all dates.

Each workload reads one layout of :mod:`engine_data` tile by tile (every date of a tile
at once, each stored chunk read once: one Zarr request per band and tile, or one
windowed read per COG), computes with plain numpy in a 2-thread pool (numpy, zstd and
GDAL release the GIL), and writes the same format and layout as eostation's writers:
a COG with the default GTiff options, the ``aggregate_spatial`` JSON time series, an
uncompressed CF netCDF (the netCDF writer's default). No-data (0) is skipped, as NaN is in the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.features
import rasterio.shutil
import shapely
import zarr
from engine_data import CLOUDY, TILE
from odc.geo.geobox import GeoBox
from rasterio.windows import Window

__all__ = ["WORKLOADS"]

Tile = tuple[slice, slice]


THREADS = 2


class Layout:
    """One layout's files, read without eostation: ``layout[band, tile]`` is the raw DN
    ``(t, y, x)`` of every date of a tile."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder.parent / "layout.json").read_text())
        self.folder, self.cog = folder, folder.name == "cog"
        self.times = pd.DatetimeIndex(meta["times"])
        self.days = [t.strftime("%Y%m%d") for t in self.times]
        side, x0, y0, res = meta["side"], meta["x0"], meta["y0"], meta["res"]
        self.grid = GeoBox.from_bbox(
            (x0, y0 - side * res, x0 + side * res, y0), f"EPSG:{meta['epsg']}", resolution=res
        )
        self.group = None if self.cog else zarr.open_group(str(folder / "s2.zarr"), mode="r")

    def __getitem__(self, key: tuple[str, Tile]) -> np.ndarray:
        band, (rows, cols) = key
        if self.group is not None:
            return np.asarray(self.group[band][:, rows, cols])
        window = Window.from_slices(rows, cols)
        planes = []
        for day in self.days:
            with rasterio.open(self.folder / f"{band}_{day}.tif") as ds:
                planes.append(ds.read(1, window=window))
        return np.stack(planes)


def _open(folder: Path) -> tuple[Layout, GeoBox, pd.DatetimeIndex]:
    layout = Layout(folder)
    return layout, layout.grid, layout.times


def _tiles(side: int) -> Iterator[Tile]:
    for y in range(0, side, TILE):
        for x in range(0, side, TILE):
            yield slice(y, min(y + TILE, side)), slice(x, min(x + TILE, side))


def _parallel(work: Callable[[Tile], Any], side: int) -> list[tuple[Tile, Any]]:
    tiles = list(_tiles(side))
    with ThreadPoolExecutor(THREADS) as pool:
        return list(zip(tiles, pool.map(work, tiles), strict=True))


def _float(values: np.ndarray) -> np.ndarray:
    """uint DN as float32 with NaN for no-data (0)."""
    out = values.astype(np.float32)
    out[values == 0] = np.nan
    return out


def _ndvi(group: Layout, tile: Tile) -> np.ndarray:
    red = _float(group["B04", tile])
    nir = _float(group["B08", tile])
    with np.errstate(all="ignore"):
        index = (nir - red) / (nir + red)
    index[~np.isfinite(index)] = np.nan
    return index


def _write_cog(path: Path, data: np.ndarray, grid: GeoBox, names: list[str] | None) -> None:
    """``(bands, y, x)`` as a COG with the GTiff writer's default options."""
    count, height, width = data.shape
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": count,
        "dtype": data.dtype.name, "crs": grid.crs.to_wkt() if grid.crs else None,
        "transform": grid.affine, "nodata": math.nan,
    }  # fmt: skip
    with rasterio.MemoryFile() as mem, mem.open(**profile) as ds:
        ds.write(data)
        for i, name in enumerate(names or [], start=1):
            ds.set_band_description(i, name)
        rasterio.shutil.copy(
            ds, path, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES", BLOCKSIZE=512,
            OVERVIEWS="AUTO", RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER",
        )  # fmt: skip


def w1_mean(store: Path, out: Path) -> None:
    """Mean over ``t`` of B02, B03, B04, B08 → GTiff."""
    group, grid, _ = _open(store)
    bands = ["B02", "B03", "B04", "B08"]
    result = np.empty((len(bands), *grid.shape), dtype=np.float32)

    def work(tile: Tile) -> None:
        for b, name in enumerate(bands):
            values = group[name, tile]
            n = np.count_nonzero(values, axis=0)
            total = values.sum(axis=0, dtype=np.float64)  # no-data is 0: adds nothing
            with np.errstate(all="ignore"):
                result[b, tile[0], tile[1]] = total / n

    _parallel(work, grid.shape[0])
    _write_cog(out / "openEO.tif", result, grid, bands)


def _nanmedian_first_axis(values: np.ndarray) -> np.ndarray:
    """Median over axis 0 skipping NaN: sort each pixel's dates (NaN sort last)."""
    t = values.shape[0]
    ordered = np.sort(values.reshape(t, -1).T, axis=1)
    n = t - np.isnan(ordered).sum(axis=1)
    lo = np.maximum((n - 1) // 2, 0)[:, None]
    hi = np.maximum(n // 2, 0)[:, None]
    a = np.take_along_axis(ordered, lo, axis=1)[:, 0]
    b = np.take_along_axis(ordered, hi, axis=1)[:, 0]
    median = np.where(n > 0, (a.astype(np.float64) + b) / 2, np.nan)
    return median.reshape(values.shape[1:])


def w2_median(store: Path, out: Path) -> None:
    """NDVI, masked where SCL ∈ {3, 8, 9, 10}, median over ``t`` → GTiff."""
    group, grid, _ = _open(store)
    result = np.empty((1, *grid.shape), dtype=np.float32)

    def work(tile: Tile) -> None:
        index = _ndvi(group, tile)
        scl = group["SCL", tile]
        index[np.isin(scl, CLOUDY) | (scl == 0)] = np.nan
        result[0, tile[0], tile[1]] = _nanmedian_first_axis(index)

    _parallel(work, grid.shape[0])
    _write_cog(out / "openEO.tif", result, grid, None)


def _labels(geojson: dict[str, Any], grid: GeoBox) -> np.ndarray:
    """Field number + 1 per pixel (0 outside), pixel-centre rule, fields do not overlap."""
    assert grid.crs is not None
    to_grid = pyproj.Transformer.from_crs(4326, grid.crs.to_wkt(), always_xy=True)
    shapes = []
    for i, feature in enumerate(geojson["features"]):
        polygon = shapely.from_geojson(json.dumps(feature["geometry"]))
        moved = shapely.transform(
            polygon, lambda xy: np.column_stack(to_grid.transform(xy[:, 0], xy[:, 1]))
        )
        shapes.append((moved, i + 1))
    return rasterio.features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.affine, fill=0, dtype="int32"
    )


def w3_zonal(store: Path, out: Path, geojson: dict[str, Any]) -> None:
    """``aggregate_spatial`` mean per field, date and band → JSON time series."""
    group, grid, times = _open(store)
    bands = ["B02", "B03", "B04", "B08"]
    labels = _labels(geojson, grid)
    g = len(geojson["features"])
    t = len(times)

    def work(tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        lab = labels[tile].ravel()
        inside = np.flatnonzero(lab)
        sums = np.zeros((t, g, len(bands)))
        counts = np.zeros((t, g, len(bands)))
        if inside.size == 0:
            return sums, counts
        order = inside[np.argsort(lab[inside], kind="stable")]
        owner = lab[order] - 1
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        for b, name in enumerate(bands):
            values = group[name, tile].reshape(t, -1)[:, order]
            sums[:, owner[starts], b] = np.add.reduceat(values, starts, axis=1, dtype=np.float64)
            counts[:, owner[starts], b] = np.add.reduceat(values != 0, starts, axis=1, dtype=int)
        return sums, counts

    parts = [p for _, p in _parallel(work, grid.shape[0])]
    total = sum(p[0] for p in parts)
    n = sum(p[1] for p in parts)
    with np.errstate(all="ignore"):
        mean = total / n
    body = {
        ts.strftime("%Y-%m-%dT%H:%M:%SZ"): [
            [None if math.isnan(v) else float(v) for v in row] for row in mean[i]
        ]
        for i, ts in enumerate(times)
    }
    with (out / "openEO.json").open("w", encoding="utf-8") as f:
        json.dump(body, f, allow_nan=False)


def w4_monthly(store: Path, out: Path) -> None:
    """NDVI, ``aggregate_temporal_period`` month mean → netCDF (CF, uncompressed)."""
    import xarray as xr
    from odc.geo.xr import xr_coords

    group, grid, times = _open(store)
    months = times.to_period("M")
    labels = sorted({str(m) for m in months})
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    result = np.empty((len(labels), *grid.shape), dtype=np.float32)

    def work(tile: Tile) -> None:
        index = _ndvi(group, tile)
        valid = ~np.isnan(index)
        index[~valid] = 0
        total = np.add.reduceat(index, starts, axis=0, dtype=np.float64)
        n = np.add.reduceat(valid, starts, axis=0, dtype=np.int32)
        with np.errstate(all="ignore"):
            result[:, tile[0], tile[1]] = total / n

    _parallel(work, grid.shape[0])
    coords = xr_coords(grid)
    crs = coords.pop("spatial_ref")
    ds = xr.Dataset(
        {"NDVI": (("t", "y", "x"), result, {"grid_mapping": "crs"})},
        coords={"t": labels, **coords, "crs": ((), 0, grid.crs.proj.to_cf())},  # type: ignore[union-attr]
    )
    del crs
    ds.to_netcdf(out / "openEO.nc", engine="h5netcdf")


WORKLOADS: dict[str, Callable[..., None]] = {
    "W1": w1_mean,
    "W2": w2_median,
    "W3": w3_zonal,
    "W4": w4_monthly,
}

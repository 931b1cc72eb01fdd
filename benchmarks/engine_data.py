"""Input of the engine benchmark: one S2-like cube in three layouts, and field polygons.

The cube (``B02``, ``B03``, ``B04``, ``B08`` as uint16 reflectance DN, ``SCL`` as uint8
classes, 0 = no-data in every band: an orbit edge cuts a corner off some dates; pixels
follow fields with a seasonal NDVI curve; clouds, shadows and cirrus come and go) is
generated once per size under ``benchmarks/_data/<side>px_<dates>d/`` in three layouts,
each registered as the ``files`` collection ``BENCH_S2`` by its own ``collections.toml``,
exactly as a user would register it:

- ``zarr-t1``: Zarr, one array per band, chunks ``t=1, y=512, x=512`` (a store written
  date by date), zstd level 1;
- ``cog``: one COG per band and date (``B04_20230103.tif``: deflate, 512² blocks,
  overviews), the layout of STAC items;
- ``zarr-all``: Zarr with all dates of a 512² tile in one chunk.

``layout.json`` next to them describes the grid and dates for the hand-written baseline,
which reads the files without eostation.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.shutil
import shapely
import xarray as xr
import zarr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

__all__ = [
    "BANDS",
    "EPSG",
    "LAYOUTS",
    "TILE",
    "Size",
    "fields_geojson",
    "generate",
    "input_files",
    "layout_dir",
]

EPSG = 32631
X0, Y0, RES = 600_000.0, 5_700_000.0, 10.0  # upper-left corner, UTM 31N, 10 m pixels
TILE = 512
BANDS = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
CLOUDY = (3, 8, 9, 10)


@dataclass(frozen=True)
class Size:
    """Side in pixels, number of dates, number of field polygons."""

    side: int
    dates: int
    fields: int = 1000

    @property
    def name(self) -> str:
        """The store's directory name."""
        return f"s2_{self.side}px_{self.dates}d.zarr"

    def times(self) -> pd.DatetimeIndex:
        """Dates spread evenly over 2023 (every 6 days for 60 dates)."""
        step = max(1, 365 // self.dates)
        return pd.date_range("2023-01-03", periods=self.dates, freq=f"{step}D")

    def geobox(self) -> GeoBox:
        """The pixel grid."""
        return GeoBox.from_bbox(
            (X0, Y0 - self.side * RES, X0 + self.side * RES, Y0), f"EPSG:{EPSG}", resolution=RES
        )


def _upsample(low: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour blocks of ``low`` (last two axes), cropped to ``shape``."""
    out = np.repeat(np.repeat(low, factor, axis=-2), factor, axis=-1)
    return out[..., : shape[0], : shape[1]]


def _tile(size: Size, ty: int, tx: int) -> dict[str, np.ndarray]:
    """All dates of one 512 × 512 tile, every band."""
    rng = np.random.default_rng([size.side, size.dates, ty, tx])
    t = size.dates
    h = w = min(TILE, size.side)
    doy = size.times().dayofyear.to_numpy(dtype=np.float32)
    # Fields of 32 × 32 px with their own peak NDVI and green-up date.
    cells = (h + 31) // 32, (w + 31) // 32
    peak = _upsample(rng.uniform(0.3, 0.9, cells).astype(np.float32), 32, (h, w))
    green = _upsample(rng.uniform(100, 220, cells).astype(np.float32), 32, (h, w))
    season = np.exp(-(((doy[:, None, None] - green[None]) / 60.0) ** 2))
    ndvi = 0.1 + (peak[None] - 0.1) * season
    ndvi += rng.normal(0, 0.03, (t, h, w)).astype(np.float32)
    red = 900.0 - 700.0 * ndvi
    nir = red * (1 + ndvi) / np.maximum(1 - ndvi, 0.05)
    scl = np.full((t, h, w), 4, dtype=np.uint8)
    scl[ndvi < 0.25] = 5
    clouds = _upsample(rng.random((t, (h + 15) // 16, (w + 15) // 16)), 16, (h, w))
    scl[clouds > 0.85] = 8
    scl[clouds > 0.93] = 9
    scl[(clouds > 0.78) & (clouds <= 0.85)] = 3
    scl[(clouds > 0.70) & (clouds <= 0.72)] = 10
    bright = np.where(scl >= 8, 4000.0, 0.0).astype(np.float32)
    noise = lambda: rng.normal(0, 25, (t, h, w)).astype(np.float32)  # noqa: E731
    out = {
        "B02": 0.55 * red + 150 + bright + noise(),
        "B03": 0.8 * red + 250 + bright + noise(),
        "B04": red + bright + noise(),
        "B08": nir + bright + noise(),
    }
    data = {k: np.clip(v, 1, 20000).astype(np.uint16) for k, v in out.items()}
    # An orbit edge: on every fifth date the corner beyond a diagonal has no data.
    yy, xx = np.mgrid[ty * TILE : ty * TILE + h, tx * TILE : tx * TILE + w]
    edge = (xx + yy) > 1.5 * size.side
    for i in range(0, t, 5):
        for band in data.values():
            band[i][edge] = 0
        scl[i][edge] = 0
    data["SCL"] = scl
    return data


LAYOUTS = ("zarr-t1", "cog", "zarr-all")
"""The three stores of the same cube: Zarr with one date per chunk, one COG per band and
date, Zarr with all dates in one chunk."""

_BAND_TOML = "".join(
    f'[[collections.bands]]\nname = "{n}"\nsource = "{n}"\nnodata = 0\n'
    + (f'common_name = "{c}"\n' if c else "")
    for n, c in [*BANDS.items(), ("SCL", None)]
)
_TOML = {
    "zarr": 'paths = "s2.zarr"\ndate = {{ coordinate = "t" }}\n',
    "cog": 'paths = "*.tif"\n'
    "date = {{ regex = '^(?P<band>[A-Z0-9]+)_(?P<date>\\d{{8}})\\.tif$', format = \"%Y%m%d\" }}\n",
}


def layout_dir(root: Path, size: Size, layout: str) -> Path:
    """Where one layout of ``size`` lives (its ``collections.toml`` is in it)."""
    return root / f"{size.side}px_{size.dates}d" / layout


def input_files(folder: Path) -> list[Path]:
    """Every data file of a layout (to drop from the page cache before a run)."""
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "collections.toml"]


def _zarr_store(path: Path, size: Size, t_chunk: int) -> dict[str, zarr.Array]:
    """An xarray-readable Zarr (``t``/``y``/``x`` coordinates, ``spatial_ref``) whose
    band arrays are then filled region by region."""
    grid = size.geobox()
    shape = (size.dates, size.side, size.side)
    chunks = (t_chunk, min(TILE, size.side), min(TILE, size.side))
    names = [*BANDS, "SCL"]
    data = {
        n: (
            ("t", "y", "x"),
            da.zeros(shape, chunks=chunks, dtype=np.uint8 if n == "SCL" else np.uint16),
        )
        for n in names
    }
    ds = xr.Dataset(data, coords={"t": size.times().to_numpy(), **xr_coords(grid)})
    codec = zarr.codecs.ZstdCodec(level=1)
    encoding = {n: {"chunks": chunks, "compressors": codec, "_FillValue": None} for n in names}
    ds.to_zarr(str(path), mode="w", compute=False, encoding=encoding)
    group = zarr.open_group(str(path), mode="r+")
    return {n: group[n] for n in names}  # type: ignore[misc]


def _write_cogs(folder: Path, size: Size, source: dict[str, zarr.Array]) -> None:
    grid = size.geobox()
    profile = {
        "driver": "GTiff", "width": size.side, "height": size.side, "count": 1,
        "crs": f"EPSG:{EPSG}", "transform": grid.affine, "nodata": 0,
    }  # fmt: skip
    days = [t.strftime("%Y%m%d") for t in size.times()]
    for name, array in source.items():
        planes = array[:]  # one band, all dates: read once from the all-dates store

        def write(i: int, planes: np.ndarray = planes, name: str = name) -> None:
            with rasterio.MemoryFile() as mem, mem.open(**profile, dtype=planes.dtype.name) as ds:
                ds.write(planes[i], 1)
                rasterio.shutil.copy(
                    ds, folder / f"{name}_{days[i]}.tif", driver="COG", COMPRESS="DEFLATE",
                    PREDICTOR="2", BLOCKSIZE=TILE,
                )  # fmt: skip

        with ThreadPoolExecutor(os.cpu_count()) as pool:
            list(pool.map(write, range(size.dates)))


def generate(root: Path, size: Size, layouts: tuple[str, ...] = LAYOUTS) -> dict[str, Path]:
    """The ``layouts`` of ``size`` under ``root`` (generated unless complete), each a
    folder with a ``collections.toml`` registering it as the files collection ``BENCH_S2``.

    ``zarr-t1`` is always among them; ``zarr-all`` too when ``cog`` is asked for (the
    COGs are written from it).
    """
    wanted = {"zarr-t1", *layouts, *(["zarr-all"] if "cog" in layouts else [])}
    folders = {layout: layout_dir(root, size, layout) for layout in LAYOUTS if layout in wanted}
    done = folders["zarr-t1"].parent / (
        "complete" if len(folders) == len(LAYOUTS) else "-".join(["complete", *folders])
    )
    if done.exists() or (folders["zarr-t1"].parent / "complete").exists():
        return folders
    for layout, folder in folders.items():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        kind = "cog" if layout == "cog" else "zarr"
        (folder / "collections.toml").write_text(
            f'[[collections]]\nid = "BENCH_S2"\n{_TOML[kind].format()}{_BAND_TOML}'
        )
    stores = [_zarr_store(folders["zarr-t1"] / "s2.zarr", size, 1)]
    if "zarr-all" in folders:
        stores.append(_zarr_store(folders["zarr-all"] / "s2.zarr", size, size.dates))
    n = (size.side + TILE - 1) // TILE

    def write(index: tuple[int, int]) -> None:
        ty, tx = index
        rows = slice(ty * TILE, min((ty + 1) * TILE, size.side))
        cols = slice(tx * TILE, min((tx + 1) * TILE, size.side))
        for name, values in _tile(size, ty, tx).items():
            for arrays in stores:
                arrays[name][:, rows, cols] = values

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(write, [(ty, tx) for ty in range(n) for tx in range(n)]))
    if "cog" in folders:
        _write_cogs(folders["cog"], size, stores[1])
    (folders["zarr-t1"].parent / "layout.json").write_text(
        json.dumps(
            {"epsg": EPSG, "x0": X0, "y0": Y0, "res": RES, "side": size.side,
             "bands": [*BANDS, "SCL"], "times": [t.isoformat() for t in size.times()]}
        )
    )  # fmt: skip
    done.write_text("ok")
    return folders


def fields_geojson(size: Size) -> dict[str, Any]:
    """``size.fields`` non-overlapping field polygons (EPSG:4326 FeatureCollection).

    One jittered, slightly rotated quadrilateral per cell of a regular grid, with vertex
    coordinates that do not fall on pixel centres.
    """
    rng = np.random.default_rng(size.fields)
    per_row = int(np.ceil(np.sqrt(size.fields)))
    cell = size.side * RES / per_row
    to_wgs84 = pyproj.Transformer.from_crs(EPSG, 4326, always_xy=True)
    features = []
    for i in range(size.fields):
        cy, cx = divmod(i, per_row)
        centre = np.array([X0 + (cx + 0.5) * cell, Y0 - (cy + 0.5) * cell])
        # At most 0.33 cell from the centre, rotated by at most 0.2 rad: < 0.4 cell,
        # so neighbouring fields never overlap (one label per pixel is exact).
        half = rng.uniform(0.2, 0.3, 2) * cell
        angle = rng.uniform(-0.2, 0.2)
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
        corners += rng.uniform(-0.03, 0.03, corners.shape) * cell
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        ring = corners @ rot.T + centre
        lon, lat = to_wgs84.transform(ring[:, 0], ring[:, 1])
        polygon = shapely.Polygon(np.column_stack([lon, lat]))
        features.append(
            {
                "type": "Feature",
                "properties": {"id": f"field-{i}"},
                "geometry": json.loads(shapely.to_geojson(polygon)),
            }
        )
    return {"type": "FeatureCollection", "features": features}

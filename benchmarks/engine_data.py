"""Input of the engine benchmark: an S2-like Zarr cube, field polygons, and a source.

The cube is generated once per size into ``benchmarks/_data/`` and read by both sides of
the benchmark, so that they read the same bytes: one Zarr array per band (``B02``,
``B03``, ``B04``, ``B08`` as uint16 reflectance DN, ``SCL`` as uint8 classes), shape
``(t, y, x)``, chunks of all dates × 512 × 512, zstd level 1. Value 0 is no-data in
every band (an orbit edge cuts a corner off some dates). Pixels follow fields with a
seasonal NDVI curve; clouds, their shadows and cirrus come and go per date.

:class:`ZarrS2` is a minimal :class:`~eostation.data.base.CollectionSource` over that
store: a lazy float32 ``(t, bands, y, x)`` cube with NaN for no-data, clipped to the
requested bbox and interval (pixel-centre rule, as the engine's sources do).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import shapely
import xarray as xr
import zarr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.data.base import LoadRequest
from eostation.engine.cube import with_band_info
from eostation.engine.grid import bbox_in_crs, clip_to_bounds

__all__ = ["BANDS", "EPSG", "TILE", "Size", "ZarrS2", "fields_geojson", "generate"]

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


def generate(root: Path, size: Size) -> Path:
    """The Zarr store for ``size`` under ``root``, generated unless it is complete."""
    path = root / size.name
    if (path / "complete").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    group = zarr.open_group(str(path), mode="w")
    shape = (size.dates, size.side, size.side)
    chunks = (size.dates, min(TILE, size.side), min(TILE, size.side))
    codec = zarr.codecs.ZstdCodec(level=1)
    arrays = {
        name: group.create_array(
            name, shape=shape, chunks=chunks, dtype=np.uint8 if name == "SCL" else np.uint16,
            compressors=codec, fill_value=0,
        )
        for name in [*BANDS, "SCL"]
    }  # fmt: skip
    group.attrs.update(
        epsg=EPSG, x0=X0, y0=Y0, res=RES, times=[t.isoformat() for t in size.times()]
    )
    n = (size.side + TILE - 1) // TILE

    def write(index: tuple[int, int]) -> None:
        ty, tx = index
        rows = slice(ty * TILE, min((ty + 1) * TILE, size.side))
        cols = slice(tx * TILE, min((tx + 1) * TILE, size.side))
        for name, values in _tile(size, ty, tx).items():
            arrays[name][:, rows, cols] = values

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(write, [(ty, tx) for ty in range(n) for tx in range(n)]))
    (path / "complete").write_text("ok")
    return path


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


def _as_float(values: np.ndarray) -> np.ndarray:
    """DN as float32, no-data (0) as NaN, in one pass per chunk."""
    out = values.astype(np.float32)
    out[values == 0] = np.nan
    return out


class ZarrS2:
    """The generated store as a collection (id ``BENCH_S2``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.group = zarr.open_group(str(path), mode="r")
        attrs = dict(self.group.attrs)
        self.times = pd.DatetimeIndex(attrs["times"])
        side = self.group["B02"].shape[1]
        x0, y0, res = attrs["x0"], attrs["y0"], attrs["res"]
        self.grid = GeoBox.from_bbox(
            (x0, y0 - side * res, x0 + side * res, y0), f"EPSG:{attrs['epsg']}", resolution=res
        )

    @property
    def id(self) -> str:
        """The collection id."""
        return "BENCH_S2"

    def metadata(self) -> dict[str, Any]:
        """A minimal STAC collection (the benchmark never lists collections)."""
        return {"type": "Collection", "id": self.id, "cube:dimensions": {}}

    def queryables(self) -> dict[str, Any]:
        """No queryable properties."""
        return {"type": "object", "properties": {}}

    def load(self, request: LoadRequest) -> xr.DataArray:
        """A lazy float32 ``(t, bands, y, x)`` cube, no-data (0) as NaN."""
        names = request.bands or [*BANDS, "SCL"]
        stacked = da.stack([da.from_zarr(self.group[n]) for n in names], axis=1)
        values = stacked.map_blocks(_as_float, dtype=np.float32)
        cube = xr.DataArray(
            values,
            dims=("t", "bands", "y", "x"),
            coords={"t": self.times.to_numpy(), "bands": names, **xr_coords(self.grid)},
            name="BENCH_S2",
        )
        cube = with_band_info(
            cube, [{"name": n, "common_name": BANDS[n]} for n in names if n in BANDS]
        )
        if request.temporal is not None:
            start, end = (None if v is None else pd.Timestamp(v) for v in request.temporal)
            cube = cube.sel(t=slice(start, None if end is None else end - pd.Timedelta(1)))
        if request.bbox is not None:
            cube = clip_to_bounds(cube, bbox_in_crs(request.bbox, request.crs, self.grid.crs))
        return cube

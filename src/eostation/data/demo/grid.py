"""Pixel grids of the demo world and the geolocation of one chunk.

A grid is a global lattice: pixel ``(ix, iy)`` has its centre at
``((ix + 0.5) * rx, -(iy + 0.5) * ry)`` in the grid CRS, so any two requests on the
same CRS and resolution share pixels exactly and a sub-window of a request is a
slice of it. Each load uses one grid: the UTM zone of the bbox centre for the
high-resolution collections (Sentinel-1/2), EPSG:4326 for the others.

Geolocation (lon/lat) of fine grids is computed on a coarser lattice of nodes every
``node_step`` pixels (also global, so chunk-independent) and interpolated bilinearly;
smooth world fields are evaluated on the nodes only, which keeps a chunk cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from odc.geo import geom
from odc.geo.geobox import GeoBox
from pyproj import CRS, Transformer
from rasterio.transform import Affine

from eostation.errors import ProcessParameterInvalid

__all__ = ["Grid", "Tile", "bbox_in_4326", "utm_epsg"]

Fields = NDArray[np.float64]
EARTH_RADIUS_KM = 6371.0


def _invalid_extent(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process="load_collection", parameter="spatial_extent", reason=reason
    )


def bbox_in_4326(
    bbox: tuple[float, float, float, float] | None, crs: int | str
) -> tuple[float, float, float, float]:
    """Validate a request bbox and return it in EPSG:4326."""
    if bbox is None:
        raise _invalid_extent("the demo collections cover the whole Earth; give a bounding box.")
    west, south, east, north = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise _invalid_extent(f"bbox {bbox} has non-finite coordinates.")
    if west >= east or south >= north:
        raise _invalid_extent(
            f"bbox (west={west}, south={south}, east={east}, north={north}) is empty: "
            "west must be < east and south < north."
        )
    try:
        box = geom.box(west, south, east, north, crs).to_crs(4326)
    except Exception as exc:  # pyproj raises several unrelated types for a bad CRS
        raise _invalid_extent(f"bbox CRS {crs!r} is not usable: {exc}") from exc
    w, s, e, n = box.boundingbox
    if not (-180.0 <= w < e <= 180.0 and -90.0 <= s < n <= 90.0):
        raise _invalid_extent(
            f"bbox ({w:.6f}, {s:.6f}, {e:.6f}, {n:.6f}) in EPSG:4326 is outside "
            "the Earth (-180, -90, 180, 90)."
        )
    return (w, s, e, n)


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone that contains a point (no Norway/Svalbard exceptions)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


@dataclass(frozen=True)
class Grid:
    """A window ``[ix0, ix0 + nx) × [iy0, iy0 + ny)`` of a global pixel lattice."""

    epsg: int
    rx: float
    ry: float
    ix0: int
    iy0: int
    nx: int
    ny: int
    node_step: int = 1

    @classmethod
    def covering(
        cls,
        bbox: tuple[float, float, float, float],
        epsg: int,
        res: tuple[float, float],
        node_step: int = 1,
        crs: int | str = 4326,
    ) -> Grid:
        """The pixels of the lattice whose centres lie in a bbox (given in ``crs``).

        A bbox aligned on the lattice gets exactly the pixels inside it (the openEO
        rule: a pixel belongs to an extent when its centre does). West and north edges
        are inclusive, east and south exclusive, so adjacent extents share no pixel. A
        bbox smaller than a pixel gets the one pixel under its centre.
        """
        rx, ry = res
        if CRS.from_user_input(crs) == CRS.from_epsg(epsg):
            w, s, e, n = bbox
        else:
            # Densified: a reprojected edge bends, and its bounds must follow the bend.
            step = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 16 or None
            w, s, e, n = geom.box(*bbox, crs).to_crs(epsg, resolution=step).boundingbox
        # Centre (i + 0.5)·r in [w, e): i in [w/r − 0.5, e/r − 0.5); the tolerance keeps
        # a centre that float noise moved off an edge on its side of it.
        ix0, ix1 = (math.ceil(v / rx - 0.5 - 1e-9) for v in (w, e))
        iy0, iy1 = (math.ceil(-v / ry - 0.5 - 1e-9) for v in (n, s))
        if ix1 <= ix0:
            ix0 = math.floor((w + e) / 2 / rx)
            ix1 = ix0 + 1
        if iy1 <= iy0:
            iy0 = math.floor(-(s + n) / 2 / ry)
            iy1 = iy0 + 1
        return cls(epsg, rx, ry, ix0, iy0, ix1 - ix0, iy1 - iy0, node_step)

    def window(self, bbox: tuple[float, float, float, float], crs: int | str) -> Grid:
        """The same lattice over the pixels whose centres lie in ``bbox`` (in ``crs``)."""
        return Grid.covering(bbox, self.epsg, (self.rx, self.ry), self.node_step, crs)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return (self.ny, self.nx)

    @property
    def geobox(self) -> GeoBox:
        """The odc-geo GeoBox of the window."""
        affine = Affine(self.rx, 0.0, self.ix0 * self.rx, 0.0, -self.ry, -self.iy0 * self.ry)
        return GeoBox(self.shape, affine, f"EPSG:{self.epsg}")

    def tile(self, y0: int, y1: int, x0: int, x1: int) -> Tile:
        """The chunk of rows ``[y0, y1)`` and columns ``[x0, x1)`` of this window."""
        return Tile(self, self.iy0 + y0, self.iy0 + y1, self.ix0 + x0, self.ix0 + x1)


@dataclass(frozen=True)
class Tile:
    """One chunk: global pixel index ranges ``[iy0, iy1) × [ix0, ix1)`` of a grid."""

    grid: Grid
    iy0: int
    iy1: int
    ix0: int
    ix1: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the chunk."""
        return (self.iy1 - self.iy0, self.ix1 - self.ix0)

    @cached_property
    def pixel_index(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Global ``(iy, ix)`` indices, shaped ``(ny, 1)`` and ``(1, nx)``."""
        iy = np.arange(self.iy0, self.iy1, dtype=np.int64)[:, None]
        ix = np.arange(self.ix0, self.ix1, dtype=np.int64)[None, :]
        return iy, ix

    @cached_property
    def _node_axes(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        k = self.grid.node_step
        ky = np.arange(self.iy0 // k, (self.iy1 - 1) // k + 2, dtype=np.int64)
        kx = np.arange(self.ix0 // k, (self.ix1 - 1) // k + 2, dtype=np.int64)
        return ky, kx

    @cached_property
    def node_lonlat(self) -> tuple[Fields, Fields]:
        """Lon/lat (degrees) of the nodes around the chunk, each ``(nky, nkx)``."""
        g, k = self.grid, self.grid.node_step
        ky, kx = self._node_axes
        x = np.broadcast_to((kx[None, :] * k + 0.5) * g.rx, (ky.size, kx.size))
        y = np.broadcast_to(-(ky[:, None] * k + 0.5) * g.ry, (ky.size, kx.size))
        if g.epsg == 4326:
            return np.array(x, dtype=np.float64), np.clip(y, -90.0, 90.0).astype(np.float64)
        lon, lat = _to_lonlat(g.epsg).transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    @cached_property
    def node_xyz(self) -> tuple[Fields, Fields, Fields]:
        """Node positions as Earth-centred Cartesian kilometres (seamless for noise)."""
        return lonlat_to_xyz(*self.node_lonlat)

    @cached_property
    def _weights(self) -> tuple[NDArray[np.int64], Fields, NDArray[np.int64], Fields]:
        k = self.grid.node_step
        ky, kx = self._node_axes
        iy, ix = self.pixel_index
        ry, rx = iy[:, 0] // k - ky[0], ix[0, :] // k - kx[0]
        fy = (iy[:, 0] % k) / k
        fx = (ix[0, :] % k) / k
        return ry, fy[:, None], rx, fx[None, :]

    def interp(self, node_field: NDArray[np.floating], dtype: type = np.float64) -> NDArray[Any]:
        """Bilinear interpolation of a node field to the chunk's pixels, as ``dtype``."""
        if self.grid.node_step == 1:
            ry, _, rx, _ = self._weights
            return node_field[ry[0] : ry[-1] + 1, rx[0] : rx[-1] + 1].astype(dtype, copy=False)
        ry, fy, rx, fx = self._weights
        # Separable: along x on the node rows first (small), then along y on full rows as
        # ``row + fy * (next row - row)``, computed in place.
        rows = node_field[:, rx] * (1.0 - fx) + node_field[:, rx + 1] * fx
        rows = rows.astype(dtype, copy=False)
        out = np.take(rows[1:] - rows[:-1], ry, axis=0)
        out *= fy.astype(dtype, copy=False)
        out += np.take(rows, ry, axis=0)
        return out

    @cached_property
    def lonlat(self) -> tuple[Fields, Fields]:
        """Per-pixel lon/lat (interpolated from the nodes)."""
        lon, lat = self.node_lonlat
        return self.interp(lon), self.interp(lat)


def lonlat_to_xyz(lon: Fields, lat: Fields) -> tuple[Fields, Fields, Fields]:
    """Earth-centred Cartesian coordinates in km on a sphere."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    return (
        EARTH_RADIUS_KM * cos_phi * np.cos(lam),
        EARTH_RADIUS_KM * cos_phi * np.sin(lam),
        EARTH_RADIUS_KM * np.sin(phi),
    )


@lru_cache(maxsize=64)
def _to_lonlat(epsg: int) -> Transformer:
    # Building a Transformer costs milliseconds; one per CRS is enough.
    return Transformer.from_crs(CRS.from_epsg(epsg), 4326, always_xy=True)

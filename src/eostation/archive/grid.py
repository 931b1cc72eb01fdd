"""The nested HEALPix grid of the archive, on the WGS84 ellipsoid.

Cell ids are healpix-geo's ellipsoidal nested ids. On an ellipsoid, healpix-geo maps
a geodetic latitude to the *authalic* latitude (the latitude on the sphere of equal
area) and then applies the spherical HEALPix projection; longitudes are unchanged.
We use that identity to go faster on regular lon/lat grids: the authalic latitude is
computed once per row and the spherical lookup (about twice as fast as the
ellipsoidal one, which repeats the conversion for every point) does the rest. The
resulting ids are the ellipsoidal ids, never spherical ones: the tests compare them
with ``lonlat_to_healpix(..., ellipsoid="WGS84")`` on random points.

Storage groups cells by their ancestor at ``chunk_level`` (a chunk) and
``shard_level`` (a shard): in the nested scheme the descendants of a cell form one
contiguous id range, so cell id = array index needs no id arrays and no padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from healpix_geo import nested
from numpy.typing import ArrayLike, NDArray

__all__ = ["WGS84", "HealpixGrid", "authalic_latitude"]

#: Semi-major axis (m) and inverse flattening of WGS84.
WGS84: Final = {"name": "WGS84", "semimajor_axis": 6378137.0, "inverse_flattening": 298.257223563}
_F = 1.0 / WGS84["inverse_flattening"]  # type: ignore[operator]
_E2 = _F * (2.0 - _F)
_E = math.sqrt(_E2)
#: Radius (m) of the sphere with the area of the WGS84 ellipsoid.
AUTHALIC_RADIUS: Final = 6371007.180918475

Ids = NDArray[np.uint64]
Floats = NDArray[np.float64]


def _q(sin_phi: Floats) -> Floats:
    return (1.0 - _E2) * (
        sin_phi / (1.0 - _E2 * sin_phi * sin_phi)
        - np.log((1.0 - _E * sin_phi) / (1.0 + _E * sin_phi)) / (2.0 * _E)
    )


_QP: Final = float(_q(np.array([1.0]))[0])


def authalic_latitude(lat: ArrayLike) -> Floats:
    """Authalic latitude (degrees) of geodetic WGS84 latitudes (degrees)."""
    sin_phi = np.sin(np.radians(np.asarray(lat, dtype=np.float64)))
    return np.degrees(np.arcsin(np.clip(_q(sin_phi) / _QP, -1.0, 1.0)))


@dataclass(frozen=True)
class HealpixGrid:
    """Nested HEALPix cells at ``level`` on WGS84, stored in chunks and shards of ancestors."""

    level: int = 18
    chunk_level: int = 10
    shard_level: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.shard_level <= self.chunk_level <= self.level <= 29:
            raise ValueError(
                f"need 0 <= shard_level <= chunk_level <= level <= 29, got "
                f"{self.shard_level}, {self.chunk_level}, {self.level}"
            )

    # -- sizes -----------------------------------------------------------------------------

    @property
    def n_cells(self) -> int:
        """Number of cells on the globe, ``12 * 4**level``."""
        return 12 * int(4**self.level)  # int ** int is typed Any (a negative power is a float)

    @property
    def chunk_cells(self) -> int:
        """Cells in one chunk (the descendants of one ``chunk_level`` cell)."""
        return int(4 ** (self.level - self.chunk_level))

    @property
    def shard_cells(self) -> int:
        """Cells in one shard (the descendants of one ``shard_level`` cell)."""
        return int(4 ** (self.level - self.shard_level))

    @property
    def cell_size(self) -> float:
        """Edge of a square with the area of one cell, in metres (~24.9 m at level 18)."""
        return AUTHALIC_RADIUS * math.sqrt(4.0 * math.pi / self.n_cells)

    # -- ids -------------------------------------------------------------------------------

    def cell_ids(self, lon: ArrayLike, lat: ArrayLike) -> Ids:
        """Ids of the cells containing points (geodetic WGS84 degrees), same shape as input."""
        lon_a, lat_a = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        ids = nested.lonlat_to_healpix(
            lon_a.ravel(), authalic_latitude(lat_a.ravel()), self.level, ellipsoid="sphere"
        )
        return np.asarray(ids, dtype=np.uint64).reshape(lon_a.shape)

    def lattice_ids(self, lon: ArrayLike, lat: ArrayLike, num_threads: int = 0) -> Ids:
        """Ids for the outer product of 1-D ``lat`` (rows) and ``lon`` (columns), ``(ny, nx)``.

        The authalic conversion runs once per row, which is what makes lon/lat grids fast.
        """
        lon1 = np.asarray(lon, dtype=np.float64).ravel()
        beta = authalic_latitude(np.asarray(lat, dtype=np.float64).ravel())
        lon2 = np.broadcast_to(lon1[None, :], (beta.size, lon1.size)).ravel()
        lat2 = np.repeat(beta, lon1.size)
        ids = nested.lonlat_to_healpix(
            lon2, lat2, self.level, ellipsoid="sphere", num_threads=num_threads
        )
        return np.asarray(ids, dtype=np.uint64).reshape(beta.size, lon1.size)

    def centres(self, ids: ArrayLike) -> tuple[Floats, Floats]:
        """Geodetic lon/lat (degrees) of cell centres."""
        flat = np.asarray(ids, dtype=np.uint64)
        lon, lat = nested.healpix_to_lonlat(flat.ravel(), self.level, ellipsoid="WGS84")
        return np.asarray(lon).reshape(flat.shape), np.asarray(lat).reshape(flat.shape)

    def chunk_of(self, ids: NDArray[Any]) -> Ids:
        """The chunk (``chunk_level`` ancestor) of cells."""
        return np.asarray(ids, dtype=np.uint64) >> np.uint64(2 * (self.level - self.chunk_level))

    def chunks_covering(self, bbox: tuple[float, float, float, float]) -> Ids:
        """Sorted chunks whose cells may lie in a lon/lat bbox (a superset, never missing one)."""
        w, s, e, n = bbox
        # On the sphere the ellipsoidal cells sit at authalic latitudes; a hair of padding
        # keeps cells whose edge touches the bbox.
        pad = 1e-7
        south, north = authalic_latitude([max(s - pad, -90.0), min(n + pad, 90.0)])
        zone = (max(w - pad, -180.0), float(south), min(e + pad, 180.0), float(north))
        ids, _, _ = nested.zone_coverage(zone, self.chunk_level, ellipsoid="sphere")
        return np.unique(np.asarray(ids, dtype=np.uint64))

    # -- metadata --------------------------------------------------------------------------

    def dggs_attrs(self) -> dict[str, Any]:
        """Attributes after the zarr ``dggs`` convention."""
        return {
            "name": "healpix",
            "refinement_level": self.level,
            "indexing_scheme": "nested",
            "ellipsoid": dict(WGS84),
            "spatial_dimension": "cells",
            "chunk_level": self.chunk_level,
            "shard_level": self.shard_level,
        }

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> HealpixGrid:
        """The grid described by :meth:`dggs_attrs`."""
        if attrs.get("name") != "healpix" or attrs.get("indexing_scheme") != "nested":
            raise ValueError(f"not a nested HEALPix archive: {attrs}")
        if (attrs.get("ellipsoid") or {}).get("name") != "WGS84":
            raise ValueError(f"only WGS84 archives are supported: {attrs.get('ellipsoid')}")
        return cls(
            int(attrs["refinement_level"]), int(attrs["chunk_level"]), int(attrs["shard_level"])
        )

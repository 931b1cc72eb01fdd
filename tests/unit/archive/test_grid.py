"""Cell ids of the archive grid against healpix-geo's ellipsoidal ids, computed independently."""

from __future__ import annotations

import numpy as np
from healpix_geo import nested

from eostation.archive.grid import HealpixGrid, authalic_latitude


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))  # uniform on the sphere, poles included
    return lon, lat


def test_cell_ids_are_the_wgs84_ellipsoidal_ids() -> None:
    lon, lat = random_points(400_000, 1)
    grid = HealpixGrid(18)
    expected = nested.lonlat_to_healpix(lon, lat, 18, ellipsoid="WGS84")
    np.testing.assert_array_equal(grid.cell_ids(lon, lat), expected)
    # and they are not the spherical ids (which sit up to ~14 km away at 45°N)
    spherical = nested.lonlat_to_healpix(lon, lat, 18, ellipsoid="sphere")
    assert (spherical != expected).mean() > 0.99


def test_lattice_ids_match_pointwise_ids_on_a_regular_grid() -> None:
    lon = np.linspace(7.3, 7.4, 301)
    lat = np.linspace(-33.2, -33.1, 207)
    grid = HealpixGrid(18)
    lon2, lat2 = np.meshgrid(lon, lat)
    expected = nested.lonlat_to_healpix(lon2.ravel(), lat2.ravel(), 18, ellipsoid="WGS84")
    np.testing.assert_array_equal(grid.lattice_ids(lon, lat).ravel(), expected)


def test_authalic_latitude_known_values() -> None:
    # Equator and poles are fixed points; the largest difference is ~0.128° near 45°.
    np.testing.assert_allclose(authalic_latitude([0.0, 90.0, -90.0]), [0.0, 90.0, -90.0])
    diff = np.array([45.0]) - authalic_latitude([45.0])
    assert 0.125 < float(diff[0]) < 0.130


def test_centres_are_inside_their_cells_and_sizes() -> None:
    grid = HealpixGrid(18)
    lon, lat = random_points(10_000, 2)
    ids = grid.cell_ids(lon, lat)
    clon, clat = grid.centres(ids)
    np.testing.assert_array_equal(grid.cell_ids(clon, clat), ids)
    assert 24.0 < grid.cell_size < 26.0
    assert grid.chunk_cells == 4**8 and grid.shard_cells == 4**11


def test_chunks_covering_contains_every_point_of_the_bbox() -> None:
    grid = HealpixGrid(18)
    rng = np.random.default_rng(3)
    for w, s in [(10.0, 45.0), (-0.1, -0.1), (170.9, 71.5), (-60.0, -45.3)]:
        bbox = (w, s, w + 0.2, s + 0.15)
        lon = rng.uniform(bbox[0], bbox[2], 50_000)
        lat = rng.uniform(bbox[1], bbox[3], 50_000)
        chunks = grid.chunks_covering(bbox)
        assert np.isin(grid.chunk_of(grid.cell_ids(lon, lat)), chunks).all()
        # a superset, but not a wasteful one: a 0.2° × 0.15° box needs a handful of chunks
        assert chunks.size < 40

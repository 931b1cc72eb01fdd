"""Deterministic hashing and noise: the only source of "randomness" in the demo world.

Every value is a pure function of integer lattice coordinates and a seed, so the same
place and date give the same number on every machine, in every request and whatever
the chunking. Nothing here draws from a random-number stream.

Speed matters: a chunk of the demo world evaluates a few dozen noise octaves on its
node lattice for every date. Hashes are therefore built coordinate by coordinate on
the smallest broadcast shape that holds them (a row index is mixed once per row, not
once per pixel), the eight corners of a lattice cell share their partial hashes, and
:func:`fbm3` evaluates all its octaves in one vectorised pass over blocks of points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Fields",
    "fbm3",
    "fbm3_many",
    "hash_ints",
    "normal",
    "seed_of",
    "uniform",
]

Fields = NDArray[np.float64]

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_MASK = 0xFFFFFFFFFFFFFFFF
_LOW16 = _U64(0x0000FFFF0000FFFF)
#: Points per vectorised block of :func:`fbm3` (its temporaries scale with octaves × 8 × this).
_FBM_BLOCK = 4096


def seed_of(*parts: object) -> int:
    """A stable 63-bit seed from names and numbers (no Python ``hash``: it is salted per process)."""
    h = 0xCBF29CE484222325
    for byte in "\x1f".join(map(str, parts)).encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # splitmix64 finaliser, in place on a fresh array; uint64 arithmetic wraps by design.
    h ^= h >> _U64(30)
    h *= _M1
    h ^= h >> _U64(27)
    h *= _M2
    h ^= h >> _U64(31)
    return h


def _step(h: NDArray[np.uint64], coord: NDArray[np.int64]) -> NDArray[np.uint64]:
    """One hashing round: mix a (broadcast) coordinate into the running hash."""
    with np.errstate(over="ignore"):
        return _mix(np.asarray(h ^ (coord.view(np.uint64) + _GOLDEN), dtype=np.uint64))


def hash_ints(seed: int, *coords: NDArray[np.integer] | int) -> NDArray[np.uint64]:
    """Hash integer coordinates (broadcast together) with a seed into uniform 64-bit words."""
    h = np.asarray(seed & _MASK, dtype=np.uint64)
    for c in coords:
        # The running hash only grows to the shape the coordinates so far broadcast to.
        h = _step(h, np.asarray(c, dtype=np.int64))
    return h


def uniform(seed: int, *coords: NDArray[np.integer] | int) -> Fields:
    """Uniform values in ``[0, 1)`` per integer coordinate tuple."""
    return (hash_ints(seed, *coords) >> _U64(11)).astype(np.float64) * (1.0 / 2**53)


def normal(seed: int, *coords: NDArray[np.integer] | int) -> Fields:
    """Approximately standard-normal values per coordinate tuple (Irwin–Hall of 4 uniforms)."""
    h = hash_ints(seed, *coords)
    # Sum the four 16-bit fields of each word exactly: pairwise within 32-bit lanes first.
    pairs = (h & _LOW16) + ((h >> _U64(16)) & _LOW16)
    total: Fields = ((pairs & _U64(0xFFFFFFFF)) + (pairs >> _U64(32))).astype(np.float64)
    total *= 1.0 / 65536
    total -= 2.0
    total *= np.sqrt(3.0)
    return total


def _smooth(f: Fields) -> Fields:
    return f * f * (3.0 - 2.0 * f)


def _lerp(a: Fields, b: Fields, t: Fields) -> Fields:
    return a + t * (b - a)


def _corner_tables(
    seeds: NDArray[np.uint64], lo: list[NDArray[np.int64]], span: tuple[int, int, int]
) -> Fields:
    """Lattice values on each row's box of cells ``lo + [0, span)``: ``(rows, *span)``."""
    ax, ay, az = (a + np.arange(n, dtype=np.int64) for a, n in zip(lo, span, strict=True))
    h = _step(seeds[:, None, None, None], ax[:, :, None, None])
    h = _step(h, ay[:, None, :, None])
    h = _step(h, az[:, None, None, :])
    return (h >> _U64(11)).astype(np.float64) * (1.0 / 2**53)


def _lattice_noise(seeds: NDArray[np.uint64], x: Fields, y: Fields, z: Fields) -> Fields:
    """Value noise of ``(rows, n)`` coordinates, one seed per row (``seeds`` is ``(rows, 1)``)."""
    xi, yi, zi = np.floor(x), np.floor(y), np.floor(z)
    fx, fy, fz = _smooth(x - xi), _smooth(y - yi), _smooth(z - zi)
    ix, iy, iz = xi.astype(np.int64), yi.astype(np.int64), zi.astype(np.int64)
    lo = [a.min(axis=1, keepdims=True) for a in (ix, iy, iz)]
    nx, ny, nz = (
        int((a.max(axis=1, keepdims=True) - m).max()) + 2
        for a, m in zip((ix, iy, iz), lo, strict=True)
    )
    if len(seeds) * nx * ny * nz <= 2 * x.size:
        # Points are dense on the lattice (a chunk's nodes): hash each lattice corner once
        # and look the eight corners of every point up, instead of hashing 8 per point.
        table = _corner_tables(seeds[:, 0], lo, (nx, ny, nz)).ravel()
        rows = np.arange(len(seeds), dtype=np.int64)[:, None] * (nx * ny * nz)
        base = ((ix - lo[0]) * ny + (iy - lo[1])) * nz + (iz - lo[2]) + rows

        def corner(dx: int, dy: int, dz: int) -> Fields:
            values: Fields = table[base + ((dx * ny + dy) * nz + dz)]
            return values

        u = [[_lerp(corner(dx, dy, 0), corner(dx, dy, 1), fz) for dy in (0, 1)] for dx in (0, 1)]
        return _lerp(_lerp(u[0][0], u[0][1], fy), _lerp(u[1][0], u[1][1], fy), fx)
    # Sparse points: corner hashes share their prefixes (2 x-, 4 xy-, 8 xyz-hashes).
    h = _step(seeds, np.stack([ix, ix + 1]))
    h = _step(h[:, None], np.stack([iy, iy + 1])[None])
    h = _step(h[:, :, None], np.stack([iz, iz + 1])[None, None])
    v = (h >> _U64(11)).astype(np.float64) * (1.0 / 2**53)
    v = _lerp(v[:, :, 0], v[:, :, 1], fz)
    v = _lerp(v[:, 0], v[:, 1], fy)
    return _lerp(v[0], v[1], fx)


def fbm3(
    seed: int, xyz: tuple[Fields, Fields, Fields], scale: float, octaves: int = 4, gain: float = 0.5
) -> Fields:
    """Fractal sum of value noise, normalised to ``[0, 1]`` (mean 0.5).

    ``xyz`` are coordinates (e.g. kilometres on the Earth's surface), ``scale`` the size
    of the largest features in the same unit.
    """
    stacked = tuple(np.asarray(c, dtype=np.float64)[None] for c in xyz)
    values = fbm3_many([seed], (stacked[0], stacked[1], stacked[2]), scale, octaves, gain)
    first: Fields = values[0]
    return first


def fbm3_many(
    seeds: Sequence[int],
    xyz: tuple[Fields, Fields, Fields],
    scale: float,
    octaves: int = 4,
    gain: float = 0.5,
) -> Fields:
    """:func:`fbm3` of several fields in one pass: field ``i`` has seed ``seeds[i]`` and
    coordinates ``xyz[..][i]`` (arrays shaped ``(len(seeds), ...)``); values are
    identical to separate calls.
    """
    x, y, z = np.broadcast_arrays(*(np.asarray(c, dtype=np.float64) / scale for c in xyz))
    shape = x.shape
    sets = len(seeds)
    x, y, z = (c.reshape(sets, -1) for c in (x, y, z))
    size = x.shape[1]
    rows = np.array(
        [(seed + o) & _MASK for seed in seeds for o in range(octaves)], dtype=np.uint64
    )[:, None]
    amps = gain ** np.arange(octaves, dtype=np.float64)
    total = np.empty((sets, size), dtype=np.float64)
    for start in range(0, size, _FBM_BLOCK):
        block = slice(start, start + _FBM_BLOCK)
        width = min(size - start, _FBM_BLOCK)
        # Octave coordinates, stacked: a rotation-free but irrational lacunarity (2.03)
        # with offsets avoids visible lattice alignment.
        coords = [np.empty((sets, octaves, width)) for _ in range(3)]
        for c, src, offset in zip(coords, (x, y, z), (17.1, -5.3, 9.7), strict=True):
            c[:, 0] = src[:, block]
            for o in range(1, octaves):
                c[:, o] = c[:, o - 1] * 2.03 + offset
        flat = (c.reshape(sets * octaves, width) for c in coords)
        noise = _lattice_noise(rows, *flat).reshape(sets, octaves, width)
        acc = amps[0] * noise[:, 0]
        for o in range(1, octaves):
            acc += amps[o] * noise[:, o]
        total[:, block] = acc
    total /= amps.sum()
    return total.reshape(shape)

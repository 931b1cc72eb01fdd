"""Deterministic hashing and noise: the only source of "randomness" in the demo world.

Every value is a pure function of integer lattice coordinates and a seed, so the same
place and date give the same number on every machine, in every request and whatever
the chunking. Nothing here draws from a random-number stream.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Fields", "fbm3", "hash_ints", "normal", "seed_of", "uniform", "value_noise3"]

Fields = NDArray[np.float64]

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)


def seed_of(*parts: object) -> int:
    """A stable 63-bit seed from names and numbers (no Python ``hash``: it is salted per process)."""
    h = 0xCBF29CE484222325
    for byte in "\x1f".join(map(str, parts)).encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # splitmix64 finaliser; uint64 array arithmetic wraps modulo 2**64 by design.
    h = h ^ (h >> _U64(30))
    h = h * _M1
    h = h ^ (h >> _U64(27))
    h = h * _M2
    return h ^ (h >> _U64(31))


def hash_ints(seed: int, *coords: NDArray[np.integer] | int) -> NDArray[np.uint64]:
    """Hash integer coordinates (broadcast together) with a seed into uniform 64-bit words."""
    arrays = np.broadcast_arrays(*(np.asarray(c, dtype=np.int64) for c in coords))
    h = np.full(arrays[0].shape, seed & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a in arrays:
            h = _mix(h ^ (a.view(np.uint64) + _GOLDEN))
    return h


def uniform(seed: int, *coords: NDArray[np.integer] | int) -> Fields:
    """Uniform values in ``[0, 1)`` per integer coordinate tuple."""
    return (hash_ints(seed, *coords) >> _U64(11)).astype(np.float64) * (1.0 / 2**53)


def normal(seed: int, *coords: NDArray[np.integer] | int) -> Fields:
    """Approximately standard-normal values per coordinate tuple (Irwin–Hall of 4 uniforms)."""
    h = hash_ints(seed, *coords)
    total = np.zeros(h.shape, dtype=np.float64)
    for shift in (0, 16, 32, 48):
        total += ((h >> _U64(shift)) & _U64(0xFFFF)).astype(np.float64) * (1.0 / 65536)
    return (total - 2.0) * np.sqrt(3.0)


def _smooth(f: Fields) -> Fields:
    return f * f * (3.0 - 2.0 * f)


def value_noise3(seed: int, x: Fields, y: Fields, z: Fields) -> Fields:
    """Smooth value noise in ``[0, 1]`` on the unit integer lattice of 3-D space."""
    xi, yi, zi = np.floor(x), np.floor(y), np.floor(z)
    fx, fy, fz = _smooth(x - xi), _smooth(y - yi), _smooth(z - zi)
    ix, iy, iz = xi.astype(np.int64), yi.astype(np.int64), zi.astype(np.int64)
    out = np.zeros(np.broadcast(x, y, z).shape, dtype=np.float64)
    for dx in (0, 1):
        wx = fx if dx else 1.0 - fx
        for dy in (0, 1):
            wy = fy if dy else 1.0 - fy
            for dz in (0, 1):
                wz = fz if dz else 1.0 - fz
                out += wx * wy * wz * uniform(seed, ix + dx, iy + dy, iz + dz)
    return out


def fbm3(
    seed: int, xyz: tuple[Fields, Fields, Fields], scale: float, octaves: int = 4, gain: float = 0.5
) -> Fields:
    """Fractal sum of value noise, normalised to ``[0, 1]`` (mean 0.5).

    ``xyz`` are coordinates (e.g. kilometres on the Earth's surface), ``scale`` the size
    of the largest features in the same unit.
    """
    x, y, z = (c / scale for c in xyz)
    total = np.zeros(np.broadcast(x, y, z).shape, dtype=np.float64)
    amp, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amp * value_noise3(seed + octave, x, y, z)
        norm += amp
        amp *= gain
        # A rotation-free but irrational lacunarity avoids visible lattice alignment.
        x, y, z = x * 2.03 + 17.1, y * 2.03 - 5.3, z * 2.03 + 9.7
    return total / norm

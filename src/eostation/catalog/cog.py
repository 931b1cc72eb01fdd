"""Cloud-Optimized GeoTIFFs whose bytes are computed on demand, a range at a time.

Tiles are stored uncompressed, so every tile has the same size and its byte offset
is known before any pixel exists: the header (one IFD per resolution level, with all
tile offsets) is a pure function of the grid, and a ranged read renders only the
tiles it touches. Overviews halve the resolution until a level fits in one tile;
their pixels are rendered at that coarser resolution (nearest world sample), not
averaged. Level data follow the header smallest level first, as COGs order them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["CogLayout", "TileRef"]

TILE = 512
_HEADER_BLOCK = 16_384
_SAMPLE = {"uint8": (8, 1), "uint16": (16, 1), "int16": (16, 2), "float32": (32, 3)}
# TIFF field types: SHORT, LONG, DOUBLE, ASCII.
_SHORT, _LONG, _DOUBLE, _ASCII = 3, 4, 12, 2
_SIZE = {_SHORT: 2, _LONG: 4, _DOUBLE: 8, _ASCII: 1}
_FMT = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}


@dataclass(frozen=True)
class TileRef:
    """One tile: resolution ``level`` (0 = full), row ``ty`` and column ``tx``."""

    level: int
    ty: int
    tx: int


@dataclass(frozen=True)
class CogLayout:
    """The byte layout of a single-band tiled GeoTIFF with overviews.

    ``transform`` is the GDAL-order affine ``(a, b, c, d, e, f)`` of level 0 (north-up),
    ``epsg`` its CRS (4326 is written as geographic, others as projected).
    """

    width: int
    height: int
    dtype: str
    epsg: int
    transform: tuple[float, float, float, float, float, float]
    nodata: str
    tile: int = TILE

    @cached_property
    def levels(self) -> list[tuple[int, int]]:
        """``(width, height)`` of each level, full resolution first."""
        out = [(self.width, self.height)]
        while max(out[-1]) > self.tile:
            w, h = out[-1]
            out.append((math.ceil(w / 2), math.ceil(h / 2)))
        return out

    def tiles_across(self, level: int) -> tuple[int, int]:
        """Tile columns and rows of a level."""
        w, h = self.levels[level]
        return math.ceil(w / self.tile), math.ceil(h / self.tile)

    @property
    def tile_bytes(self) -> int:
        """Bytes of one (full, padded) tile."""
        return self.tile * self.tile * np.dtype(self.dtype).itemsize

    @cached_property
    def _level_starts(self) -> list[int]:
        """Byte offset of each level's first tile (smallest level first in the file)."""
        starts = [0] * len(self.levels)
        offset = len(self.header)
        for level in reversed(range(len(self.levels))):
            starts[level] = offset
            nx, ny = self.tiles_across(level)
            offset += nx * ny * self.tile_bytes
        return starts

    @property
    def size(self) -> int:
        """Total file size in bytes."""
        nx, ny = self.tiles_across(0)
        return self._level_starts[0] + nx * ny * self.tile_bytes

    def tile_offset(self, ref: TileRef) -> int:
        """Byte offset of a tile."""
        nx, _ = self.tiles_across(ref.level)
        return self._level_starts[ref.level] + (ref.ty * nx + ref.tx) * self.tile_bytes

    def tiles_in(self, start: int, stop: int) -> Iterator[tuple[TileRef, int]]:
        """Tiles overlapping bytes ``[start, stop)``, with their offsets, in file order."""
        for level in reversed(range(len(self.levels))):
            nx, ny = self.tiles_across(level)
            first = self._level_starts[level]
            end = first + nx * ny * self.tile_bytes
            if stop <= first or start >= end:
                continue
            i0 = max(0, (start - first) // self.tile_bytes)
            i1 = min(nx * ny, -(-(stop - first) // self.tile_bytes))
            for i in range(i0, i1):
                yield TileRef(level, i // nx, i % nx), first + i * self.tile_bytes

    # -- the header ------------------------------------------------------------------------

    @cached_property
    def header(self) -> bytes:
        """TIFF header and every IFD with its out-of-line values."""
        # Two passes: the IFD sizes do not depend on the data offsets, so lay out the
        # header once with placeholder offsets to learn its length, then for real.
        # Padding to a multiple of 16 KiB (GDAL's first read) lets that read be answered
        # without rendering any tile.
        draft = self._build_header(data_start=0)
        start = -(-len(draft) // _HEADER_BLOCK) * _HEADER_BLOCK
        return self._build_header(data_start=start).ljust(start, b"\x00")

    def _build_header(self, data_start: int) -> bytes:
        out = bytearray(b"II*\x00" + struct.pack("<I", 8))
        starts, offset = {}, data_start
        for level in reversed(range(len(self.levels))):
            starts[level] = offset
            nx, ny = self.tiles_across(level)
            offset += nx * ny * self.tile_bytes
        for level in range(len(self.levels)):
            entries = self._entries(level, starts[level])
            last = level == len(self.levels) - 1
            out += self._ifd(entries, len(out), last)
        return bytes(out)

    def _entries(
        self, level: int, first_tile: int
    ) -> list[tuple[int, int, Sequence[float] | bytes]]:
        w, h = self.levels[level]
        nx, ny = self.tiles_across(level)
        bits, fmt = _SAMPLE[self.dtype]
        offsets = [first_tile + i * self.tile_bytes for i in range(nx * ny)]
        entries: list[tuple[int, int, Sequence[float] | bytes]] = [
            (254, _LONG, [1 if level else 0]),
            (256, _LONG, [w]),
            (257, _LONG, [h]),
            (258, _SHORT, [bits]),
            (259, _SHORT, [1]),
            (262, _SHORT, [1]),
            (277, _SHORT, [1]),
            (284, _SHORT, [1]),
            (322, _SHORT, [self.tile]),
            (323, _SHORT, [self.tile]),
            (324, _LONG, offsets),
            (325, _LONG, [self.tile_bytes] * len(offsets)),
            (339, _SHORT, [fmt]),
        ]
        if level == 0:
            a, _, c, _, e, f = self.transform
            geographic = self.epsg == 4326
            keys = [1, 1, 0, 3, 1024, 0, 1, 2 if geographic else 1, 1025, 0, 1, 1]
            keys += [2048 if geographic else 3072, 0, 1, self.epsg]
            entries += [
                (33550, _DOUBLE, [a, -e, 0.0]),
                (33922, _DOUBLE, [0.0, 0.0, 0.0, c, f, 0.0]),
                (34735, _SHORT, keys),
            ]
        entries.append((42113, _ASCII, self.nodata.encode() + b"\x00"))
        return entries

    @staticmethod
    def _ifd(entries: list[tuple[int, int, Sequence[float] | bytes]], at: int, last: bool) -> bytes:
        """One IFD at byte ``at``, followed by its out-of-line values."""
        n = len(entries)
        extra_at = at + 2 + 12 * n + 4
        table, extra = bytearray(struct.pack("<H", n)), bytearray()
        for tag, kind, values in entries:
            if kind == _ASCII:
                assert isinstance(values, bytes)
                raw, count = values, len(values)
            else:
                raw = struct.pack(f"<{len(values)}{_FMT[kind]}", *values)
                count = len(values)
            if len(raw) <= 4:
                table += struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\x00")
            else:
                table += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += raw + (b"\x00" if len(raw) % 2 else b"")
        next_ifd = 0 if last else extra_at + len(extra)
        table += struct.pack("<I", next_ifd)
        return bytes(table + extra)

    # -- reading ---------------------------------------------------------------------------

    def read(self, start: int, stop: int, tile_bytes: Callable[[TileRef], bytes]) -> bytes:
        """Bytes ``[start, stop)`` of the file; ``tile_bytes`` renders one tile."""
        stop = min(stop, self.size)
        out = bytearray()
        header = self.header
        if start < len(header):
            out += header[start : min(stop, len(header))]
        for ref, offset in self.tiles_in(max(start, len(header)), stop):
            data = tile_bytes(ref)
            out += data[max(start, offset) - offset : min(stop, offset + self.tile_bytes) - offset]
        return bytes(out)

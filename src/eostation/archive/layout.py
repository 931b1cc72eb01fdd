"""The on-disk layout: one Zarr v3 array per band, ``values[time, cell]``, cell id = index.

Chunks hold the cells under one ``chunk_level`` cell for one date, shards group the
chunks under one ``shard_level`` cell; chunks that were never written (or hold only
nodata) are not stored. Time is appendable: a new date is one ``resize`` of every
band array plus one more entry in the ``time`` array (seconds since 1970, UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import zarr
from numpy.typing import NDArray
from zarr.codecs import BloscCodec, BloscShuffle, BytesCodec

from .grid import HealpixGrid

__all__ = ["ArchiveStore", "Encoding"]

FORMAT_VERSION: Final = 1
#: uint16 value that marks "no data" (Sentinel-2 DN never reach it).
UINT16_NODATA: Final = 65535
Floats32 = NDArray[np.float32]


@dataclass(frozen=True)
class Encoding:
    """How a band's values are stored: ``uint16`` DN (``value = dn * scale + offset``) or ``float32``."""

    dtype: Literal["uint16", "float32"] = "float32"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def nodata(self) -> float:
        """The stored value for "no data" (NaN for float32)."""
        return float(UINT16_NODATA) if self.dtype == "uint16" else float("nan")

    def encode(self, values: Floats32) -> NDArray[Any]:
        """Physical values (NaN = nodata) to stored values."""
        if self.dtype == "float32":
            return np.asarray(values, dtype=np.float32)
        dn = np.rint((values - self.offset) / self.scale)
        finite = dn[~np.isnan(dn)]
        if finite.size and (finite.min() < 0 or finite.max() >= UINT16_NODATA):
            raise ValueError(
                f"values map to DN {finite.min():.0f}..{finite.max():.0f}, outside the "
                f"uint16 range 0..{UINT16_NODATA - 1}; store this band as float32"
            )
        return np.where(np.isnan(dn), UINT16_NODATA, dn).astype(np.uint16)

    def decode(self, stored: NDArray[Any]) -> Floats32:
        """Stored values to physical float32 values with NaN for nodata."""
        if self.dtype == "float32":
            return np.asarray(stored, dtype=np.float32)
        out = stored.astype(np.float32)
        if self.scale != 1.0 or self.offset != 0.0:
            out = out * np.float32(self.scale) + np.float32(self.offset)
        out[stored == UINT16_NODATA] = np.nan
        return out

    def attrs(self) -> dict[str, Any]:
        """Zarr attributes describing the encoding."""
        out: dict[str, Any] = {"dtype": self.dtype, "scale_factor": self.scale}
        out["add_offset"] = self.offset
        out["nodata"] = UINT16_NODATA if self.dtype == "uint16" else "nan"
        return out

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> Encoding:
        """The encoding described by :meth:`attrs`."""
        return cls(attrs["dtype"], float(attrs["scale_factor"]), float(attrs["add_offset"]))


def _codecs(encoding: Encoding) -> list[Any]:
    # Byte shuffle + zstd: the nested order keeps neighbours together, so the high
    # bytes of uint16 DN compress to almost nothing (see benchmarks/bench_archive.py).
    typesize = 2 if encoding.dtype == "uint16" else 4
    return [
        BytesCodec(),
        BloscCodec(cname="zstd", clevel=5, shuffle=BloscShuffle.shuffle, typesize=typesize),
    ]


class ArchiveStore:
    """The Zarr group of an archive: grid, time axis and band arrays."""

    def __init__(self, group: zarr.Group) -> None:
        self.group = group
        self.grid = HealpixGrid.from_attrs(dict(group.attrs["dggs"]))  # type: ignore[arg-type]

    @classmethod
    def create(cls, path: Path | str, grid: HealpixGrid) -> ArchiveStore:
        """A new, empty archive at ``path``."""
        group = zarr.open_group(str(path), mode="w-", zarr_format=3)
        group.attrs.update({"dggs": grid.dggs_attrs(), "eostation:archive": FORMAT_VERSION})
        group.create_array(
            "time",
            shape=(0,),
            chunks=(4096,),
            dtype="int64",
            fill_value=0,
            dimension_names=["time"],
            attributes={"units": "seconds since 1970-01-01T00:00:00Z"},
        )
        return cls(group)

    @classmethod
    def open(cls, path: Path | str, mode: Literal["r", "r+"] = "r") -> ArchiveStore:
        """An existing archive."""
        return cls(zarr.open_group(str(path), mode=mode, zarr_format=3))

    # -- time --------------------------------------------------------------------------------

    def times(self) -> NDArray[np.datetime64]:
        """Dates in storage (append) order."""
        seconds = np.asarray(self._time()[:], dtype=np.int64)
        return seconds.astype("datetime64[s]")

    def _time(self) -> zarr.Array[Any]:
        """The ``time`` array: seconds since the epoch, in storage order."""
        time = self.group["time"]
        assert isinstance(time, zarr.Array)
        return time

    def time_index(self, when: np.datetime64, create: bool = False) -> int | None:
        """Storage index of a date; appended (every band grows) when ``create``."""
        seconds = int(when.astype("datetime64[s]").astype(np.int64))
        time = self._time()
        existing = np.asarray(time[:], dtype=np.int64)
        hit = np.flatnonzero(existing == seconds)
        if hit.size:
            return int(hit[0])
        if not create:
            return None
        n = existing.size
        time.resize((n + 1,))
        time[n] = seconds
        for band in self.bands():
            arr = self.array(band)
            arr.resize((n + 1, arr.shape[1]))
        return n

    # -- bands -------------------------------------------------------------------------------

    def bands(self) -> list[str]:
        """Band names in creation order."""
        return list(self.group.attrs.get("bands", []))  # type: ignore[arg-type]

    def array(self, band: str) -> zarr.Array[Any]:
        """The ``values[time, cell]`` array of a band."""
        arr = self.group[f"bands/{band}"]
        assert isinstance(arr, zarr.Array)
        return arr

    def encoding(self, band: str) -> Encoding:
        """How a band is stored."""
        return Encoding.from_attrs(dict(self.array(band).attrs["encoding"]))  # type: ignore[arg-type]

    def band_attrs(self, band: str) -> dict[str, Any]:
        """The band's ``raster:bands`` entry as ingested (name, unit, scale, ...)."""
        return dict(self.array(band).attrs.get("raster:band", {}))  # type: ignore[arg-type]

    def add_band(self, band: str, encoding: Encoding, raster: dict[str, Any]) -> zarr.Array[Any]:
        """Create a band array sized to the current time axis."""
        g = self.grid
        serializer, *compressors = _codecs(encoding)
        arr = self.group.create_array(
            f"bands/{band}",
            shape=(int(self._time().shape[0]), g.n_cells),
            shards=(1, g.shard_cells),
            chunks=(1, g.chunk_cells),
            dtype=encoding.dtype,
            fill_value=encoding.nodata,
            serializer=serializer,
            compressors=compressors,
            dimension_names=["time", "cells"],
            attributes={"encoding": encoding.attrs(), "raster:band": raster},
        )
        self.group.attrs["bands"] = [*self.bands(), band]
        return arr

    # -- chunk I/O ---------------------------------------------------------------------------

    def _runs(self, chunks: NDArray[np.uint64]) -> Iterator[tuple[int, int, int]]:
        """``(first position, first chunk, count)`` of runs of consecutive chunks in one shard."""
        per_shard = 4 ** (self.grid.chunk_level - self.grid.shard_level)
        c = chunks.astype(np.int64)
        breaks = np.flatnonzero((np.diff(c) != 1) | (c[1:] // per_shard != c[:-1] // per_shard))
        starts = np.concatenate([[0], breaks + 1])
        stops = np.concatenate([breaks + 1, [c.size]])
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            yield a, int(c[a]), b - a

    def read_chunks(self, band: str, t: int, chunks: NDArray[np.uint64]) -> Floats32:
        """Values of sorted ``chunks`` at time index ``t``, ``(len(chunks), chunk_cells)``."""
        arr, enc, n = self.array(band), self.encoding(band), self.grid.chunk_cells
        out = np.empty((chunks.size, n), dtype=np.float32)
        for pos, first, count in self._runs(chunks):
            raw = arr[t, first * n : (first + count) * n]
            out[pos : pos + count] = enc.decode(np.asarray(raw)).reshape(count, n)
        return out

    def write_chunks(self, band: str, t: int, chunks: NDArray[np.uint64], values: Floats32) -> None:
        """Merge ``values`` (NaN = keep what is stored) into sorted ``chunks`` at time ``t``."""
        arr, enc, n = self.array(band), self.encoding(band), self.grid.chunk_cells
        for pos, first, count in self._runs(chunks):
            new = enc.encode(values[pos : pos + count].ravel())
            region = slice(first * n, (first + count) * n)
            fresh = new != UINT16_NODATA if enc.dtype == "uint16" else ~np.isnan(new)
            if not fresh.any():
                continue
            if not fresh.all():
                old = np.asarray(arr[t, region])
                new = np.where(fresh, new, old)
            arr[t, region] = new

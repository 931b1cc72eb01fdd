"""The layout: one Zarr v3 array per band, ``values[row, cell]``, cell id = index.

Chunks hold the cells under one ``chunk_level`` cell for one row, shards group the
chunks under one ``shard_level`` cell; chunks that were never written (or hold only
nodata) are not stored. Each ingest appends one row per date it writes (one ``resize``
of every band array plus one entry in the ``time`` array, seconds since 1970, UTC);
the manifest (:mod:`.state`) says which row holds each (band, date, shard).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import zarr
from numpy.typing import NDArray
from zarr.codecs import BloscCodec, BloscShuffle, BytesCodec
from zarr.errors import ZarrUserWarning

from .grid import HealpixGrid
from .state import MANIFEST, ArchiveState, legacy_state
from .storage import ArchiveLocation

__all__ = ["ArchiveStore", "Encoding"]

FORMAT_VERSION: Final = 1
#: uint16 value that marks "no data" (Sentinel-2 DN never reach it).
UINT16_NODATA: Final = 65535
Floats32 = NDArray[np.float32]
#: Shard reads in flight at once: an object store answers each after a round trip.
_READERS: Final = 16


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
    """The Zarr group of an archive (grid, band arrays) and its published :class:`ArchiveState`.

    Opened read-only, it reads the manifest and then the consolidated metadata: no
    listing. Opened for writing, changes are staged in :attr:`pending` and published by
    :meth:`commit`.
    """

    def __init__(self, group: zarr.Group, location: ArchiveLocation, state: ArchiveState) -> None:
        self.group = group
        self.location = location
        self.state = state
        self.pending = state.copy()
        self._rows: dict[int, int] = {}  # date (seconds) -> this ingest's row
        self.grid = HealpixGrid.from_attrs(dict(group.attrs["dggs"]))  # type: ignore[arg-type]

    @classmethod
    def create(cls, location: ArchiveLocation, grid: HealpixGrid) -> ArchiveStore:
        """A new, empty archive (published at once, so it exists with no dates)."""
        group = zarr.open_group(store=location.zarr_store, mode="w-", zarr_format=3)
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
        store = cls(group, location, ArchiveState())
        store.commit()
        return store

    @classmethod
    def open(
        cls,
        location: ArchiveLocation,
        mode: Literal["r", "r+"] = "r",
        *,
        manifest: bytes | Literal[False] | None = False,
    ) -> ArchiveStore:
        """An existing archive; ``"r"`` reads the published state only.

        ``manifest``: its bytes when the caller just read them (None: there is none).
        """
        # The manifest first: the metadata consolidated before it was written is at least
        # as new, so every row it names is inside the arrays' shapes.
        raw = location.read(MANIFEST) if manifest is False else manifest
        group = zarr.open_group(
            store=location.zarr_store,
            mode=mode,
            zarr_format=3,
            use_consolidated=None if mode == "r" else False,
        )
        state = ArchiveState.from_json(raw) if raw is not None else legacy_state(group, location)
        return cls(group, location, state)

    # -- published state ---------------------------------------------------------------------

    def times(self) -> NDArray[np.datetime64]:
        """The dates, sorted; a time index is a position in this array."""
        return self.state.times()

    def bands(self) -> list[str]:
        """Band names in creation order."""
        return list(self.pending.bands)

    def stored_shards(self, band: str) -> dict[int, list[int]]:
        """Shard ids holding data per time index of a band."""
        return self.state.shards(band)

    def array(self, band: str) -> zarr.Array[Any]:
        """The ``values[row, cell]`` array of a band."""
        arr = self.group[f"bands/{band}"]
        assert isinstance(arr, zarr.Array)
        return arr

    def encoding(self, band: str) -> Encoding:
        """How a band is stored."""
        return Encoding.from_attrs(dict(self.array(band).attrs["encoding"]))  # type: ignore[arg-type]

    def band_attrs(self, band: str) -> dict[str, Any]:
        """The band's ``raster:bands`` entry as ingested (name, unit, scale, ...)."""
        return dict(self.array(band).attrs.get("raster:band", {}))  # type: ignore[arg-type]

    # -- staging an ingest -------------------------------------------------------------------

    def _time(self) -> zarr.Array[Any]:
        time = self.group["time"]
        assert isinstance(time, zarr.Array)
        return time

    def add_band(self, band: str, encoding: Encoding, raster: dict[str, Any]) -> zarr.Array[Any]:
        """Create a band array sized to the rows so far (staged until :meth:`commit`)."""
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
            # an array left by a failed ingest holds only unpublished rows
            overwrite=True,
        )
        self.pending.bands.append(band)
        return arr

    def stage_date(self, when: np.datetime64) -> int:
        """Stage a date of an ingest; returns it in seconds (its row is made on first write)."""
        seconds = int(when.astype("datetime64[s]").astype(np.int64))
        if seconds not in self.pending.dates:
            self.pending.dates.append(seconds)
        return seconds

    def _row(self, seconds: int) -> int:
        """This ingest's row for a date: appended to every band array on first use."""
        if seconds in self._rows:
            return self._rows[seconds]
        time = self._time()
        n = int(time.shape[0])
        time.resize((n + 1,))
        time[n] = seconds
        for band in self.pending.bands:
            arr = self.array(band)
            if arr.shape[0] <= n:
                arr.resize((n + 1, arr.shape[1]))
        self._rows[seconds] = n
        return n

    def commit(self) -> None:
        """Publish the staged ingest: consolidated metadata, then the manifest.

        Nothing is written when the ingest changed nothing (a re-ingest of the same data).
        """
        p, s = self.pending, self.state
        if s.generation and (p.dates, p.bands, p.layers) == (s.dates, s.bands, s.layers):
            return
        for band in p.bands:
            p.sizes[band] = self.location.size(f"bands/{band}")
        p.generation = s.generation + 1
        with warnings.catch_warnings():
            # zarr warns that consolidated metadata is not in the v3 spec yet (zarr-python
            # reads it, which is all we need) and that the manifest is not a Zarr node.
            warnings.simplefilter("ignore", ZarrUserWarning)
            zarr.consolidate_metadata(self.location.zarr_store)
        self.location.write(MANIFEST, p.to_json())
        self.state, self.pending, self._rows = p, p.copy(), {}

    # -- chunk I/O ---------------------------------------------------------------------------

    def _runs(self, chunks: NDArray[np.uint64]) -> Iterator[tuple[int, int, int]]:
        """``(first position, first chunk, count)`` of runs of consecutive chunks in one shard."""
        per_shard = self._per_shard
        c = chunks.astype(np.int64)
        breaks = np.flatnonzero((np.diff(c) != 1) | (c[1:] // per_shard != c[:-1] // per_shard))
        starts = np.concatenate([[0], breaks + 1])
        stops = np.concatenate([breaks + 1, [c.size]])
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            yield a, int(c[a]), b - a

    @property
    def _per_shard(self) -> int:
        return int(4 ** (self.grid.chunk_level - self.grid.shard_level))

    def read_chunks(self, band: str, t: int, chunks: NDArray[np.uint64]) -> Floats32:
        """Values of sorted ``chunks`` at time index ``t``, ``(len(chunks), chunk_cells)``.

        Only the shards the manifest lists are read, all at once: on an object store each
        read is a round trip, and shards that hold nothing cost no request.
        """
        arr, enc, n = self.array(band), self.encoding(band), self.grid.chunk_cells
        seconds = int(self.times()[t].astype(np.int64))
        out = np.full((chunks.size, n), np.nan, dtype=np.float32)
        reads = []
        for pos, first, count in self._runs(chunks):
            row = self.state.row(band, seconds, first // self._per_shard)
            if row is not None:
                reads.append((pos, count, row, slice(first * n, (first + count) * n)))

        def read(job: tuple[int, int, int, slice]) -> None:
            pos, count, row, region = job
            out[pos : pos + count] = enc.decode(np.asarray(arr[row, region])).reshape(count, n)

        if len(reads) == 1:
            read(reads[0])
        elif reads:
            with ThreadPoolExecutor(min(_READERS, len(reads))) as pool:
                list(pool.map(read, reads))
        return out

    def write_chunks(
        self, band: str, seconds: int, chunks: NDArray[np.uint64], values: Floats32
    ) -> None:
        """Merge ``values`` (NaN = keep what is stored) of sorted ``chunks`` into a date.

        Each changed shard is written once to this ingest's row for the date, whole when
        it held data before (copied from its old row and merged), so a published shard is
        never overwritten; a shard the values do not change is not written at all.
        """
        arr, enc, n = self.array(band), self.encoding(band), self.grid.chunk_cells
        per_shard, shard_n = self._per_shard, self.grid.shard_cells
        by_shard: dict[int, list[tuple[int, int, int]]] = {}
        for pos, first, count in self._runs(chunks):
            by_shard.setdefault(first // per_shard, []).append((pos, first, count))
        for shard, runs in by_shard.items():
            old = self.pending.row(band, seconds, shard)
            if old is None:
                lo, hi = runs[0][1] * n, (runs[-1][1] + runs[-1][2]) * n
                base = np.full(hi - lo, enc.nodata, dtype=enc.dtype)
            else:
                lo, hi = shard * shard_n, (shard + 1) * shard_n
                base = np.asarray(arr[old, lo:hi])
            before = base.copy()
            fresh_any = False
            for pos, first, count in runs:
                new = enc.encode(values[pos : pos + count].ravel())
                fresh = new != UINT16_NODATA if enc.dtype == "uint16" else ~np.isnan(new)
                if fresh.any():
                    fresh_any = True
                    at = slice(first * n - lo, (first + count) * n - lo)
                    base[at] = np.where(fresh, new, base[at])
            if not fresh_any or (old is not None and np.array_equal(base, before, equal_nan=True)):
                continue
            if seconds not in self._rows:
                self._row(seconds)
                arr = self.array(band)  # re-read: the new row resized the array
            arr[self._rows[seconds], lo:hi] = base
            self.pending.put(band, seconds, shard, self._rows[seconds])

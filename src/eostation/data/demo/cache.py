"""Per-process memo caches of the demo world, bounded by the bytes they hold.

A chunk's fields are pure functions of its tile (and date), so caching them never
changes a value: it only spares recomputing what another band of the same chunk
already needed. A count-bounded ``lru_cache`` cannot bound memory (a chunk of a
fine grid costs megabytes, one of a coarse grid kilobytes), so these caches
evict by size instead.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["ByteCache", "nbytes"]

V = TypeVar("V")


def nbytes(value: Any) -> int:
    """Bytes of the arrays in a value (dataclasses and tuples are walked; broadcasts are free)."""
    if isinstance(value, np.ndarray):
        return 0 if 0 in value.strides else int(value.nbytes)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, tuple | list):
        return sum(nbytes(v) for v in value)
    return 0


class ByteCache(Generic[V]):
    """A thread-safe LRU memo that holds at most ``max_bytes`` of values.

    A thread that misses a key another thread is computing waits for that value
    instead of computing it a second time (the loads of one chunk's bands, or of two
    requests for the same chunk, run side by side); the lock only guards the
    bookkeeping, never a computation. A value can also be *pinned*: it is then found
    for as long as someone else holds a reference to it (a dask task result, say),
    whatever the LRU has evicted meanwhile. Values must be weak-referenceable
    (dataclasses are).
    """

    def __init__(
        self, max_bytes: int, size: Callable[[V], int] = nbytes, *, evict: bool = True
    ) -> None:
        self.max_bytes = max_bytes
        self._size = size
        # Without eviction a full cache keeps what it has: the right policy for values
        # read in the same order again (LRU would evict each just before its reuse).
        self._evict = evict
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pinned: weakref.WeakValueDictionary[Hashable, Any] = weakref.WeakValueDictionary()
        self._computing: dict[Hashable, threading.Event] = {}

    def find(self, key: Hashable) -> V | None:
        """The cached or pinned value of ``key``, or None (never computes)."""
        with self._lock:
            return self._find(key)

    def _find(self, key: Hashable) -> V | None:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit[0]
        pinned: V | None = self._pinned.get(key)
        return pinned

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value of ``key``, computed with ``make()`` on a miss."""
        return self._get(key, make, pin=False)

    def pin(self, key: Hashable, make: Callable[[], V]) -> V:
        """Like :meth:`get`, and the value stays findable while the caller keeps it."""
        return self._get(key, make, pin=True)

    def _get(self, key: Hashable, make: Callable[[], V], *, pin: bool) -> V:
        while True:
            with self._lock:
                found = self._find(key)
                if found is not None:
                    if pin:
                        self._pinned[key] = found
                    return found
                running = self._computing.get(key)
                if running is None:
                    done = self._computing[key] = threading.Event()
                    break
            # Another thread is computing it: wait, then look again (a value too large
            # to keep and not pinned is then computed here too).
            running.wait()
        try:
            value = make()
            self._store(key, value, pin)
        finally:
            with self._lock:
                del self._computing[key]
            done.set()
        return value

    def _store(self, key: Hashable, value: V, pin: bool) -> None:
        size = self._size(value)
        with self._lock:
            if pin:
                self._pinned[key] = value
            full = self._bytes + size > self.max_bytes
            if size > self.max_bytes or (full and not self._evict):
                return
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._pinned.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

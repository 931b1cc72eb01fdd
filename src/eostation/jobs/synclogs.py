"""Logs of synchronous requests, reachable through the ``Link: <…>; rel="monitor"`` header."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

__all__ = ["SyncLogs"]


class SyncLogs:
    """The logs of the last ``capacity`` synchronous requests of this server process.

    Kept in memory: they only need to outlive the request long enough for the client
    to read them, and a restart loses nothing a user cannot reproduce.
    """

    def __init__(self, capacity: int = 500) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._logs: OrderedDict[str, tuple[str, list[dict[str, Any]]]] = OrderedDict()

    def open(self, request_id: str, user_id: str) -> list[dict[str, Any]]:
        """Start the log of a request; returns the list that entries are appended to."""
        entries: list[dict[str, Any]] = []
        with self._lock:
            self._logs[request_id] = (user_id, entries)
            while len(self._logs) > self._capacity:
                self._logs.popitem(last=False)
        return entries

    @staticmethod
    def entry(entries: list[dict[str, Any]], level: str, message: str, **extra: Any) -> None:
        """Append an openEO log entry."""
        entry = {
            "id": str(len(entries) + 1),
            "level": level,
            "message": message,
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        entry.update({k: v for k, v in extra.items() if v is not None})
        entries.append(entry)

    def get(self, request_id: str, user_id: str) -> list[dict[str, Any]] | None:
        """The entries of a request of this user, or None."""
        with self._lock:
            found = self._logs.get(request_id)
        if found is None or found[0] != user_id:
            return None
        return list(found[1])

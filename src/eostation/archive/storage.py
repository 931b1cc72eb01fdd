"""Where an archive lives: a local directory or an fsspec URL (``s3://bucket/prefix``).

A local directory (a plain path or ``file://``) is opened with zarr's ``LocalStore``; any
other URL with zarr's ``FsspecStore`` on the same filesystem and storage options as job
results (``storage.options``). Besides the Zarr store, the archive keeps one small object
of its own, the manifest (:mod:`.state`), written whole: a PUT on an object store, a
rename on a file system, so a reader sees the old manifest or the new one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

__all__ = ["ArchiveLocation", "open_location"]


@dataclass(frozen=True)
class ArchiveLocation:
    """An archive's Zarr store plus the filesystem it sits on."""

    url: str
    fs: fsspec.AbstractFileSystem
    root: str
    zarr_store: Store

    @property
    def is_local(self) -> bool:
        """Whether the archive is a directory on a local (or mounted) file system."""
        return isinstance(self.fs, LocalFileSystem)

    def key(self, name: str) -> str:
        """The filesystem path of ``name`` under the archive's root."""
        return f"{self.root}/{name}"

    def exists(self, name: str) -> bool:
        """Whether ``name`` exists under the root."""
        return bool(self.fs.exists(self.key(name)))

    def read(self, name: str) -> bytes | None:
        """The bytes of ``name``, or None when it does not exist."""
        try:
            return bytes(self.fs.cat_file(self.key(name)))
        except FileNotFoundError:
            return None

    def write(self, name: str, data: bytes) -> None:
        """Replace ``name`` whole: readers see the old bytes or the new ones, never a part."""
        if not self.is_local:
            self.fs.pipe_file(self.key(name), data)  # one PUT: atomic on an object store
            return
        target = Path(self.key(name))
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def size(self, name: str) -> int:
        """Bytes stored under ``name`` (a listing: only writers call it)."""
        path = self.key(name)
        return int(self.fs.du(path)) if self.fs.exists(path) else 0

    def listdir(self, name: str) -> list[str]:
        """Entry names directly under ``name`` (empty when it does not exist)."""
        path = self.key(name)
        if not self.fs.exists(path):
            return []
        return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]


def open_location(
    location: str | Path, options: Mapping[str, Any] | None = None, *, read_only: bool = False
) -> ArchiveLocation:
    """The archive at a path or URL; ``options`` are fsspec storage options (S3 endpoint, keys)."""
    text = str(location)
    if "://" not in text or text.startswith("file://"):
        path = Path(text.removeprefix("file://"))
        return ArchiveLocation(
            str(path), LocalFileSystem(), str(path), LocalStore(path, read_only=read_only)
        )
    opts = dict(options or {})
    fs, root = fsspec.core.url_to_fs(text, **opts)
    store = FsspecStore.from_url(text, storage_options=opts, read_only=read_only)
    return ArchiveLocation(text, fs, str(root).rstrip("/"), store)

"""Zips of product folders: stored entries (no compression), fixed timestamps, sorted names.

Stored entries keep the zip's size a sum of the files' sizes plus headers, so the
size of a package equals that of a template of the same shapes (see
:mod:`.packages`), and the bytes are the same on every build of the same product.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import blake3

__all__ = ["digests", "stored_zip_size", "zip_files", "zip_folder"]

_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20


def zip_folder(folder: Path, target: Path) -> int:
    """Zip the contents of ``folder`` (paths relative to it) into ``target``; return the size."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return zip_files([(p.relative_to(folder).as_posix(), p) for p in paths], target)


def stored_zip_size(entries: Sequence[tuple[str, int]]) -> int | None:
    """Size of :func:`zip_files`'s zip of ``(name, size)`` entries, None past ZIP64 limits.

    Per entry: a 30-byte local header, the name, the data; in the central directory a
    46-byte header and the name; then the 22-byte end record.
    """
    if len(entries) >= 0xFFFF or any(size >= 0xFFFF0000 for _, size in entries):
        return None
    names = sum(len(name.encode()) for name, _ in entries)
    return sum(size for _, size in entries) + 76 * len(entries) + 2 * names + 22


def zip_files(entries: Sequence[tuple[str, Path]], target: Path) -> int:
    """Zip files under the given entry names into ``target``; return the size."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, path in entries:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            large = path.stat().st_size > 0xFFFF0000
            with zf.open(info, "w", force_zip64=large) as out, path.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
    return target.stat().st_size


def digests(path: Path) -> tuple[str, str]:
    """MD5 and BLAKE3 hex digests of a file."""
    md5, b3 = hashlib.md5(usedforsecurity=False), blake3.blake3()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            md5.update(chunk)
            b3.update(chunk)
    return md5.hexdigest(), b3.hexdigest()

"""The ``type = "files"`` entries of ``collections.toml``, checked beyond their types.

:class:`~eostation.data.config.FilesEntry` checks the types and keys; this module adds
what a type cannot say (exactly one date rule, a regex with a ``date`` group, a CRS that
pyproj knows, file band numbers) and builds the :class:`FileCollectionConfig` the source
reads. Every problem raises :class:`CollectionConfigError` naming the collection and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from eostation.data.config import (
    BandSpec,
    CollectionConfigError,
    DateEntry,
    FilesEntry,
    band_specs,
    parse_entry,
)

__all__ = [
    "BandSpec",
    "CollectionConfigError",
    "DateRule",
    "FileCollectionConfig",
    "SwathSpec",
    "parse_file_collection",
]


@dataclass(frozen=True)
class DateRule:
    """How a file's acquisition time is found: ``regex`` (named group ``date``) on the file
    name, a metadata ``attribute`` (GeoTIFF tag or netCDF/Zarr global attribute), or the
    ``coordinate`` of a netCDF/Zarr time axis. ``format`` is a ``strptime`` pattern (ISO 8601
    when absent)."""

    regex: re.Pattern[str] | None = None
    attribute: str | None = None
    coordinate: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class SwathSpec:
    """A swath product gridded onto a regular EPSG:4326 grid by per-cell mean (binning)."""

    lon: str
    lat: str
    resolution: float


@dataclass(frozen=True)
class FileCollectionConfig:
    """A validated local-file collection."""

    id: str
    title: str
    description: str
    paths: tuple[str, ...]
    root: Path
    date: DateRule
    bands: tuple[BandSpec, ...]
    keywords: tuple[str, ...] = ()
    license: str = "proprietary"
    crs: str | None = None
    group: str | None = None
    swath: SwathSpec | None = None
    resampling: str = "nearest"
    chunk_xy: int = 512
    apply_scale: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def _date_rule(raw: DateEntry, cid: str) -> DateRule:
    given = [k for k in ("regex", "attribute", "coordinate") if getattr(raw, k) is not None]
    if len(given) != 1:
        raise CollectionConfigError(
            cid, "date", f"give exactly one of 'regex', 'attribute', 'coordinate' (got {given})."
        )
    if raw.regex is not None:
        try:
            pattern = re.compile(raw.regex)
        except re.error as exc:
            raise CollectionConfigError(cid, "date.regex", f"not a valid regex: {exc}.") from exc
        if "date" not in pattern.groupindex:
            raise CollectionConfigError(
                cid, "date.regex", "needs a named group '(?P<date>...)' around the date."
            )
        return DateRule(regex=pattern, format=raw.format)
    return DateRule(attribute=raw.attribute, coordinate=raw.coordinate, format=raw.format)


def _crs_text(value: str | int | None, cid: str) -> str | None:
    if value is None:
        return None
    text = f"EPSG:{value}" if isinstance(value, int) else str(value)
    try:
        CRS.from_user_input(text)
    except CRSError as exc:
        raise CollectionConfigError(cid, "crs", f"{value!r} is not a CRS: {exc}") from exc
    return text


def parse_file_collection(entry: Mapping[str, Any], root: Path) -> FileCollectionConfig:
    """Validate one ``type = "files"`` entry (``root``: the folder of the TOML file)."""
    e = parse_entry(entry, FilesEntry)
    paths = [e.paths] if isinstance(e.paths, str) else list(e.paths)
    swath = None
    if e.swath is not None:
        swath = SwathSpec(e.swath.lon, e.swath.lat, e.swath.resolution)
    gridded = any(p.rstrip("/").endswith((".nc", ".nc4", ".zarr", ".h5")) for p in paths)
    date = _date_rule(e.date, e.id)
    # One file per band and date (a ``band`` group in the regex): a band's ``source`` is
    # the text that group matches, its name by default.
    per_band = date.regex is not None and "band" in date.regex.groupindex
    return FileCollectionConfig(
        id=e.id,
        title=e.title if e.title is not None else e.id,
        description=e.description if e.description is not None else f"Local files of {e.id}.",
        paths=tuple(paths),
        root=root,
        date=date,
        bands=band_specs(e, numbered=not (gridded or per_band)),
        keywords=tuple(e.keywords),
        license=e.license,
        crs=_crs_text(e.crs, e.id),
        group=e.group,
        swath=swath,
        resampling=e.resampling,
        chunk_xy=e.chunks,
        apply_scale=e.apply_scale,
    )

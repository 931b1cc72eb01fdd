"""The ``[[collections]]`` entries of ``collections.toml`` for local files, parsed and checked.

Every problem raises :class:`CollectionConfigError` naming the collection and the field,
so a typo in the TOML stops ``eostation serve`` with a message the operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eostation.data.bands import Band

__all__ = [
    "BandSpec",
    "CollectionConfigError",
    "DateRule",
    "FileCollectionConfig",
    "SwathSpec",
    "parse_bands",
    "parse_file_collection",
]

_RESAMPLING = {"nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med"}


class CollectionConfigError(ValueError):
    """A ``collections.toml`` entry is invalid; the message names the collection and field."""

    def __init__(self, collection: str, field_name: str, reason: str) -> None:
        self.collection, self.field = collection, field_name
        super().__init__(
            f"collections.toml: collection '{collection}', field '{field_name}': {reason}"
        )


@dataclass(frozen=True)
class BandSpec:
    """One output band: where it comes from (``source``: 1-based file band or variable/asset
    name) and how STAC describes it. ``nodata``/``scale``/``offset`` are per band."""

    band: Band
    source: int | str
    nodata: float | None = None

    @property
    def name(self) -> str:
        """The band name users select."""
        return self.band.name


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


def _get(
    entry: Mapping[str, Any], cid: str, key: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    if key not in entry:
        if default is ...:
            raise CollectionConfigError(cid, key, "is required.")
        return default
    value = entry[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise CollectionConfigError(cid, key, f"expected a number, got {value!r}.")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CollectionConfigError(cid, key, f"expected {names}, got {value!r}.")
    return value


def _number(entry: Mapping[str, Any], cid: str, key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CollectionConfigError(cid, f"{where}{key}", f"expected a number, got {value!r}.")
    return float(value)


def _date_rule(raw: Any, cid: str) -> DateRule:
    if not isinstance(raw, Mapping):
        raise CollectionConfigError(
            cid, "date", "expected a table with 'regex', 'attribute' or 'coordinate'."
        )
    given = [k for k in ("regex", "attribute", "coordinate") if k in raw]
    if len(given) != 1:
        raise CollectionConfigError(
            cid, "date", f"give exactly one of 'regex', 'attribute', 'coordinate' (got {given})."
        )
    fmt = raw.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise CollectionConfigError(
            cid, "date.format", f"expected a strptime pattern, got {fmt!r}."
        )
    if "regex" in raw:
        try:
            pattern = re.compile(str(raw["regex"]))
        except re.error as exc:
            raise CollectionConfigError(cid, "date.regex", f"not a valid regex: {exc}.") from exc
        if "date" not in pattern.groupindex:
            raise CollectionConfigError(
                cid, "date.regex", "needs a named group '(?P<date>...)' around the date."
            )
        return DateRule(regex=pattern, format=fmt)
    key = given[0]
    return DateRule(**{key: str(raw[key])}, format=fmt)  # type: ignore[arg-type]


def parse_bands(
    raw: Any, cid: str, *, defaults: Mapping[str, Any], source_kind: type | tuple[type, ...]
) -> tuple[BandSpec, ...]:
    """Parse ``[[collections.bands]]`` (shared with STAC collections, where ``source`` is
    an asset key). Collection-level ``nodata``/``scale``/``offset``/``unit`` are defaults."""
    if not isinstance(raw, list) or not raw:
        raise CollectionConfigError(cid, "bands", "expected a non-empty array of band tables.")
    specs: list[BandSpec] = []
    for i, entry in enumerate(raw):
        where = f"bands[{i}]."
        if not isinstance(entry, Mapping):
            raise CollectionConfigError(cid, f"bands[{i}]", "expected a table.")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise CollectionConfigError(cid, f"{where}name", "a non-empty band name is required.")
        by_number = source_kind is int or (isinstance(source_kind, tuple) and int in source_kind)
        source = entry.get("source", i + 1 if by_number else name)
        if isinstance(source, bool) or not isinstance(source, source_kind):
            raise CollectionConfigError(cid, f"{where}source", f"unexpected value {source!r}.")
        if isinstance(source, int) and source < 1:
            raise CollectionConfigError(cid, f"{where}source", "file band numbers start at 1.")
        merged = {**defaults, **entry}
        band = Band(
            name=name,
            description=str(entry.get("description", name)),
            common_name=entry.get("common_name"),
            wavelength=_number(entry, cid, "wavelength", where),
            fwhm=_number(entry, cid, "fwhm", where),
            gsd=_number(entry, cid, "gsd", where),
            unit=merged.get("unit"),
            scale=_number(merged, cid, "scale", where),
            offset=_number(merged, cid, "offset", where),
            data_type=str(entry.get("data_type", "float32")),
        )
        specs.append(
            BandSpec(
                band,
                source,  # type: ignore[arg-type]
                _number(merged, cid, "nodata", where),
            )
        )
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CollectionConfigError(cid, "bands", f"duplicate band names {dupes}.")
    return tuple(specs)


def _crs_text(entry: Mapping[str, Any], cid: str) -> str | None:
    value = _get(entry, cid, "crs", (str, int), None)
    if value is None:
        return None
    text = f"EPSG:{value}" if isinstance(value, int) else str(value)
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(text)
    except CRSError as exc:
        raise CollectionConfigError(cid, "crs", f"{value!r} is not a CRS: {exc}") from exc
    return text


def parse_file_collection(entry: Mapping[str, Any], root: Path) -> FileCollectionConfig:
    """Validate one ``type = "files"`` entry (``root``: the folder of the TOML file)."""
    cid = entry.get("id")
    if not isinstance(cid, str) or not cid:
        raise CollectionConfigError("?", "id", "every collection needs a non-empty string id.")
    paths = entry.get("paths")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise CollectionConfigError(cid, "paths", "expected a glob or a non-empty list of globs.")
    swath = None
    if "swath" in entry:
        raw = _get(entry, cid, "swath", dict)
        res = _number(raw, cid, "resolution", "swath.")
        if res is None or res <= 0:
            raise CollectionConfigError(
                cid, "swath.resolution", "a positive degree step is required."
            )
        swath = SwathSpec(str(raw.get("lon", "longitude")), str(raw.get("lat", "latitude")), res)
    resampling = _get(entry, cid, "resampling", str, "nearest")
    if resampling not in _RESAMPLING:
        raise CollectionConfigError(cid, "resampling", f"expected one of {sorted(_RESAMPLING)}.")
    chunk = _get(entry, cid, "chunks", int, 512)
    if chunk < 16:
        raise CollectionConfigError(cid, "chunks", "use at least 16 pixels per chunk side.")
    gridded = any(p.rstrip("/").endswith((".nc", ".nc4", ".zarr", ".h5")) for p in paths)
    defaults = {k: entry[k] for k in ("nodata", "scale", "offset", "unit") if k in entry}
    return FileCollectionConfig(
        id=cid,
        title=_get(entry, cid, "title", str, cid),
        description=_get(entry, cid, "description", str, f"Local files of {cid}."),
        paths=tuple(paths),
        root=root,
        date=_date_rule(entry.get("date"), cid),
        bands=parse_bands(
            entry.get("bands"), cid, defaults=defaults, source_kind=str if gridded else (int, str)
        ),
        keywords=tuple(_get(entry, cid, "keywords", list, [])),
        license=_get(entry, cid, "license", str, "proprietary"),
        crs=_crs_text(entry, cid),
        group=_get(entry, cid, "group", str, None),
        swath=swath,
        resampling=resampling,
        chunk_xy=chunk,
        apply_scale=_get(entry, cid, "apply_scale", bool, False),
    )

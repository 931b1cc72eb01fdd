"""``collections.toml``, typed: one pydantic model per kind of ``[[collections]]`` entry.

The models check types and unknown keys (``extra="forbid"``: a misspelt key is an error,
not silently ignored); the source packages then check what a type cannot say (a regex
with a ``date`` group, a known CRS, distinct band names). Every problem raises
:class:`CollectionConfigError` naming the collection and the field, so a typo stops
``eostation serve`` with a message the operator can act on. :func:`collections_schema`
is the JSON Schema of the whole file (published as ``docs/collections.schema.json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .bands import Band

__all__ = [
    "ArchiveEntry",
    "BandEntry",
    "BandSpec",
    "CollectionConfigError",
    "CollectionsFile",
    "DateEntry",
    "FilesEntry",
    "StacEntry",
    "SwathEntry",
    "band_specs",
    "collections_schema",
    "entry_model",
    "parse_entry",
]


class CollectionConfigError(ValueError):
    """A ``collections.toml`` entry is invalid; the message names the collection and field."""

    def __init__(self, collection: str, field_name: str, reason: str) -> None:
        self.collection, self.field = collection, field_name
        super().__init__(
            f"collections.toml: collection '{collection}', field '{field_name}': {reason}"
        )


@dataclass(frozen=True)
class BandSpec:
    """One output band: where it comes from (``source``: 1-based file band, or variable or
    asset name) and how STAC describes it. ``nodata`` is per band."""

    band: Band
    source: int | str
    nodata: float | None = None

    @property
    def name(self) -> str:
        """The band name users select."""
        return self.band.name


class _Strict(BaseModel):
    # TOML has real types: a string where a number belongs is a mistake, not a conversion.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]
Resampling = Literal["nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med"]


class BandEntry(_Strict):
    """A ``bands`` table: the band's name and STAC description, and where it comes from."""

    name: NonEmpty
    source: int | str | None = Field(
        None, description="1-based file band number, or variable/asset name (default: name)"
    )
    description: str | None = None
    common_name: str | None = None
    wavelength: float | None = Field(None, description="centre wavelength in µm")
    fwhm: float | None = None
    gsd: float | None = Field(None, description="native resolution in metres")
    unit: str | None = None
    scale: float | None = None
    offset: float | None = None
    nodata: float | None = None
    data_type: str = "float32"


class _Collection(_Strict):
    id: NonEmpty
    title: str | None = None
    description: str | None = None
    keywords: list[str] = []
    license: str = "proprietary"
    bands: Annotated[list[BandEntry], Field(min_length=1)]
    # Collection-wide defaults of the band fields of the same name.
    nodata: float | None = None
    scale: float | None = None
    offset: float | None = None
    unit: str | None = None
    crs: str | int | None = Field(None, description="output CRS (EPSG code or WKT/PROJ text)")
    resampling: Resampling = "nearest"
    chunks: Annotated[int, Field(ge=16)] = 512
    apply_scale: bool = False


class DateEntry(_Strict):
    """Where a file's date comes from: exactly one of ``regex``, ``attribute``, ``coordinate``."""

    regex: str | None = Field(None, description="on the file name, with a group (?P<date>...)")
    attribute: str | None = Field(None, description="GeoTIFF tag or netCDF/Zarr attribute")
    coordinate: str | None = Field(None, description="the time axis of a netCDF/Zarr file")
    format: str | None = Field(None, description="strptime pattern (ISO 8601 when absent)")


class SwathEntry(_Strict):
    """A swath product, binned onto a regular EPSG:4326 grid."""

    lon: str = "longitude"
    lat: str = "latitude"
    resolution: Annotated[float, Field(gt=0)]


class FilesEntry(_Collection):
    """``type = "files"``: local GeoTIFF/COG, netCDF or Zarr files."""

    type: Literal["files"] = "files"
    paths: NonEmpty | Annotated[list[NonEmpty], Field(min_length=1)]
    date: DateEntry
    group: str | None = None
    swath: SwathEntry | None = None


class StacEntry(_Collection):
    """``type = "stac"``: a STAC API (``url`` + ``collection``) or a static catalogue."""

    type: Literal["stac"] = "stac"
    url: NonEmpty
    collection: str | None = None
    headers: dict[str, str] = Field({}, description="${VAR} is replaced from the environment")
    resolution: Annotated[float, Field(gt=0)] | None = None


class ArchiveEntry(_Strict):
    """``type = "archive"``: a HEALPix/Zarr archive."""

    type: Literal["archive"] = "archive"
    id: NonEmpty
    path: NonEmpty
    title: str | None = None
    resolution: Annotated[float, Field(gt=0)] | None = Field(
        None, description="output grid step in degrees"
    )


class CollectionsFile(_Strict):
    """``collections.toml``: the collections to serve besides the demo world."""

    collections: list[FilesEntry | StacEntry | ArchiveEntry] = []


_ENTRY_TYPES: dict[str, type[_Strict]] = {
    "files": FilesEntry,
    "stac": StacEntry,
    "archive": ArchiveEntry,
}
M = TypeVar("M", bound=_Strict)


# Pydantic labels the branch of a union it tried in ``loc`` (``str``, ``list[...]``, ...).
_BRANCH = re.compile(r"^(str|int|float|bool|none|(list|dict|function-\w+)\[.*\]|constrained-\w+)$")


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _BRANCH.match(part):
            out += f".{part}" if out else part
    return out or "-"


def _most_telling(errors: list[Any]) -> Any:
    """Of the errors of a union's branches, the one about the branch the value was meant
    for: not "should be None", and a wrong type only when nothing else is left."""
    useful = [e for e in errors if e["type"] != "none_required"] or errors
    return next((e for e in useful if not e["type"].endswith("_type")), useful[0])


def parse_entry(entry: Mapping[str, Any], model: type[M]) -> M:
    """``entry`` validated as ``model``; ``CollectionConfigError`` for the first problem."""
    cid = entry.get("id")
    cid = cid if isinstance(cid, str) and cid else "?"
    try:
        return model.model_validate(dict(entry))
    except ValidationError as exc:
        errors = exc.errors()
        path = _field_path(errors[0]["loc"])
        first = _most_telling([e for e in errors if _field_path(e["loc"]) == path])
        raise CollectionConfigError(
            cid, path, f"{first['msg']} (got {first['input']!r})."
        ) from None


def entry_model(entry: Mapping[str, Any]) -> type[_Strict]:
    """The model for an entry's ``type`` (``files`` when absent)."""
    kind = entry.get("type", "files")
    if kind not in _ENTRY_TYPES:
        raise CollectionConfigError(
            str(entry.get("id", "?")),
            "type",
            f"expected 'files', 'stac' or 'archive', got {kind!r}.",
        )
    return _ENTRY_TYPES[str(kind)]


def band_specs(entry: FilesEntry | StacEntry, *, numbered: bool) -> tuple[BandSpec, ...]:
    """The bands of an entry; collection-level ``nodata``/``scale``/``offset``/``unit`` are
    defaults. ``numbered``: an omitted ``source`` is the band's 1-based position (a file
    band), else its name (a variable or asset)."""
    specs: list[BandSpec] = []
    for i, b in enumerate(entry.bands):
        source = b.source if b.source is not None else (i + 1 if numbered else b.name)
        if isinstance(source, int) and not numbered:
            raise CollectionConfigError(
                entry.id, f"bands[{i}].source", f"expected a variable or asset name, got {source}."
            )
        if isinstance(source, int) and source < 1:
            raise CollectionConfigError(
                entry.id, f"bands[{i}].source", "file band numbers start at 1."
            )
        band = Band(
            name=b.name,
            description=b.description if b.description is not None else b.name,
            common_name=b.common_name,
            wavelength=b.wavelength,
            fwhm=b.fwhm,
            gsd=b.gsd,
            unit=b.unit if b.unit is not None else entry.unit,
            scale=b.scale if b.scale is not None else entry.scale,
            offset=b.offset if b.offset is not None else entry.offset,
            data_type=b.data_type,
        )
        specs.append(BandSpec(band, source, b.nodata if b.nodata is not None else entry.nodata))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CollectionConfigError(entry.id, "bands", f"duplicate band names {dupes}.")
    return tuple(specs)


def collections_schema() -> dict[str, Any]:
    """The JSON Schema of ``collections.toml``."""
    schema = CollectionsFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "eostation collections.toml"
    return schema


if __name__ == "__main__":  # python -m eostation.data.config > docs/collections.schema.json
    import json
    import sys

    json.dump(collections_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")

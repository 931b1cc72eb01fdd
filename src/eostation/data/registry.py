"""The collection registry: every collection the server can load, by id."""

from __future__ import annotations

import pathlib
import tomllib
from typing import TYPE_CHECKING, Any

from eostation.errors import CollectionNotFound

from .base import CollectionSource

if TYPE_CHECKING:
    from eostation.outbound import OutboundPolicy

__all__ = ["CollectionRegistry", "build_registry"]


class CollectionRegistry:
    """Collections by id, in the order they were added."""

    def __init__(self, sources: list[CollectionSource] | None = None) -> None:
        self._sources: dict[str, CollectionSource] = {}
        for source in sources or []:
            self.add(source)

    def add(self, source: CollectionSource) -> None:
        """Register a source; a later source with the same id replaces the earlier one."""
        self._sources[source.id] = source

    def ids(self) -> list[str]:
        """Collection ids."""
        return list(self._sources)

    def get(self, collection_id: str) -> CollectionSource:
        """The source of a collection; ``CollectionNotFound`` when there is none."""
        try:
            return self._sources[collection_id]
        except KeyError:
            raise CollectionNotFound(identifier=collection_id) from None

    def all(self) -> list[CollectionSource]:
        """All sources."""
        return list(self._sources.values())

    def __contains__(self, collection_id: object) -> bool:
        return collection_id in self._sources

    def __len__(self) -> int:
        return len(self._sources)


def build_registry(
    data_dir: pathlib.Path | None = None,
    outbound: OutboundPolicy | None = None,
    storage_options: dict[str, Any] | None = None,
) -> CollectionRegistry:
    """The demo collections, then the collections configured in ``data_dir``.

    ``outbound`` guards the http(s) requests of STAC collections (``OutboundPolicy.
    from_settings``; None refuses internal addresses). ``storage_options`` (``storage.
    options``) open archives configured by URL (``s3://…``).

    A ``collections.toml`` in ``data_dir`` declares local-file and STAC collections
    (``eostation.data.files`` / ``eostation.data.stac``); they are added after the demo
    ones, so a local collection may shadow a demo id.
    """
    # Imported here, like the sources below: modules that only need the registry type
    # (the API, jobs.execute) must not pull in dask, odc-stac and the demo world.
    from .demo import demo_sources

    registry = CollectionRegistry(demo_sources())
    if data_dir is not None and (data_dir / "collections.toml").is_file():
        config = data_dir / "collections.toml"
        for source in _configured_sources(config, outbound, storage_options):
            registry.add(source)
    return registry


def _configured_sources(
    config: pathlib.Path,
    outbound: OutboundPolicy | None = None,
    storage_options: dict[str, Any] | None = None,
) -> list[CollectionSource]:
    """Sources declared as ``[[collections]]`` in a TOML file.

    ``type = "files"`` (the default) registers local GeoTIFF/COG, netCDF or Zarr files,
    ``type = "stac"`` a STAC API or static catalogue, ``type = "archive"`` a HEALPix/Zarr
    archive (``path``, optional ``resolution`` in degrees). Relative paths are relative to the
    TOML's folder. A bad entry raises ``CollectionConfigError`` naming the collection and
    the field.
    """
    # Imported here: the entry models are pydantic's, ~0.1 s of start-up (import and
    # model building) that a data directory without collections.toml never needs.
    from .config import CollectionConfigError, FilesEntry, StacEntry, entry_model

    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CollectionConfigError("?", "-", f"{config} is not valid TOML: {exc}") from exc
    entries = doc.get("collections", [])
    if not isinstance(entries, list):
        raise CollectionConfigError("?", "collections", "use [[collections]] tables.")
    sources: list[CollectionSource] = []
    for entry in entries:
        # Each kind imported when used: odc-stac and the archive cost a files-only
        # `eostation run` a noticeable part of its start-up.
        model = entry_model(entry)
        if model is FilesEntry:
            from .files import file_collection

            sources.append(file_collection(entry, config.parent))
        elif model is StacEntry:
            from .stac import stac_collection

            sources.append(stac_collection(entry, config.parent, outbound))
        else:
            from .archive_source import archive_collection

            sources.append(archive_collection(entry, config.parent, storage_options))
    return sources

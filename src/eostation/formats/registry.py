"""The file-format registry behind ``save_result`` and ``GET /file_formats``.

Formats can be registered by where they live (:class:`LazyFormat`): their module is
imported on first use, so that ``eostation run`` writing a GeoTIFF does not import
geopandas, PIL, netCDF and the other writers' libraries (a second of imports).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from eostation.errors import FileTypeInvalid
from eostation.formats.writer import Reader, Writer

__all__ = ["FormatRegistry", "LazyFormat", "default_formats"]

T = TypeVar("T", Writer, Reader)


@dataclass(frozen=True)
class LazyFormat:
    """A format known by name until used: ``module``'s ``attribute`` is the writer class
    (instantiated without arguments) or the :class:`Reader` instance."""

    name: str
    module: str
    attribute: str
    listed: bool = True

    def load(self) -> Any:
        """Import the module and return the writer instance or reader."""
        found = getattr(importlib.import_module(self.module), self.attribute)
        return found() if isinstance(found, type) else found


class FormatRegistry:
    """Output writers and input readers by format name (names match case-insensitively)."""

    def __init__(
        self,
        writers: Iterable[Writer | LazyFormat] = (),
        readers: Iterable[Reader | LazyFormat] = (),
    ) -> None:
        self._writers: dict[str, Writer | LazyFormat] = {}
        self._readers: dict[str, Reader | LazyFormat] = {}
        for w in writers:
            self.add_writer(w)
        for r in readers:
            self.add_reader(r)

    def add_writer(self, writer: Writer | LazyFormat) -> None:
        """Register an output format (replacing one of the same name)."""
        self._writers[writer.name.lower()] = writer

    def add_reader(self, reader: Reader | LazyFormat) -> None:
        """Register an input format (replacing one of the same name)."""
        self._readers[reader.name.lower()] = reader

    def _writer(self, key: str) -> Writer:
        return _loaded(self._writers, key)

    def _reader(self, key: str) -> Reader:
        return _loaded(self._readers, key)

    def load_all(self) -> None:
        """Import every registered format now (a forkserver preloads them this way)."""
        for key in self._writers:
            self._writer(key)
        for key in self._readers:
            self._reader(key)

    @property
    def output_names(self) -> list[str]:
        """Output format names in their canonical spelling."""
        return [w.name for w in self._writers.values() if w.listed]

    @property
    def input_names(self) -> list[str]:
        """Input format names in their canonical spelling."""
        return [r.name for r in self._readers.values()]

    def get_writer(self, name: str) -> Writer:
        """The writer for ``name`` (any case); ``FileTypeInvalid`` when unknown."""
        key = str(name).lower()
        if key not in self._writers:
            raise FileTypeInvalid(type=name, types=", ".join(self.output_names))
        return self._writer(key)

    def check_output(self, name: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``save_result``'s check: the canonical name of output ``name`` and its checked options.

        ``FileTypeInvalid`` when the format is unknown, the writer's error when an option
        is wrong; this is the same writer :func:`eostation.jobs.execute.write_outputs` runs.
        """
        writer = self.get_writer(name)
        return writer.name, writer.check_options(options)

    def get_reader(self, name: str) -> Reader:
        """The reader for ``name`` (any case); ``FileTypeInvalid`` when unknown."""
        key = str(name).lower()
        if key not in self._readers:
            raise FileTypeInvalid(type=name, types=", ".join(self.input_names))
        return self._reader(key)

    def describe(self) -> dict[str, Any]:
        """The ``GET /file_formats`` response body: ``{"input": {...}, "output": {...}}``."""
        self.load_all()
        readers = [self._reader(key) for key in self._readers]
        writers = [self._writer(key) for key in self._writers]
        return {
            "input": {r.name: r.describe() for r in readers},
            "output": {w.name: w.describe() for w in writers if w.listed},
        }


def _loaded(table: dict[str, T | LazyFormat], key: str) -> T:
    """``table[key]``, imported (and stored back) if it was still a :class:`LazyFormat`."""
    entry = table[key]
    if isinstance(entry, LazyFormat):
        # Same key: the dict keeps its order, so ``describe`` keeps its order too.
        entry = table[key] = entry.load()
    return entry


def default_formats() -> FormatRegistry:
    """A registry with every format that eostation ships, each imported on first use."""
    # By module path: the format modules import the package, whose __init__ imports this,
    # and most of them import heavy libraries that a given job does not need.
    pkg = "eostation.formats"
    return FormatRegistry(
        writers=[
            LazyFormat("GTiff", f"{pkg}.gtiff", "GTiffWriter"),
            LazyFormat("COG", f"{pkg}.gtiff", "COGWriter"),
            LazyFormat("netCDF", f"{pkg}.netcdf", "NetCDFWriter"),
            LazyFormat("JSON", f"{pkg}.jsonfile", "JSONWriter"),
            LazyFormat("CSV", f"{pkg}.csvfile", "CSVWriter"),
            LazyFormat("GeoParquet", f"{pkg}.geoparquet", "GeoParquetWriter"),
            LazyFormat("PNG", f"{pkg}.png", "PNGWriter"),
            LazyFormat("Zarr", f"{pkg}.zarrfile", "ZarrWriter"),
            LazyFormat("ML-MODEL", f"{pkg}.mlmodel", "MLModelWriter", listed=False),
        ],
        readers=[
            LazyFormat("GTiff", f"{pkg}.gtiff", "GTIFF_READER"),
            LazyFormat("netCDF", f"{pkg}.netcdf", "NETCDF_READER"),
        ],
    )

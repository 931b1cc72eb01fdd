"""The file-format registry behind ``save_result`` and ``GET /file_formats``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eostation.errors import FileTypeInvalid
from eostation.formats.writer import Reader, Writer

__all__ = ["FormatRegistry", "default_formats"]


class FormatRegistry:
    """Output writers and input readers by format name (names match case-insensitively)."""

    def __init__(self, writers: Iterable[Writer] = (), readers: Iterable[Reader] = ()) -> None:
        self._writers: dict[str, Writer] = {}
        self._readers: dict[str, Reader] = {}
        for w in writers:
            self.add_writer(w)
        for r in readers:
            self.add_reader(r)

    def add_writer(self, writer: Writer) -> None:
        """Register an output format (replacing one of the same name)."""
        self._writers[writer.name.lower()] = writer

    def add_reader(self, reader: Reader) -> None:
        """Register an input format (replacing one of the same name)."""
        self._readers[reader.name.lower()] = reader

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
        try:
            return self._writers[str(name).lower()]
        except KeyError:
            raise FileTypeInvalid(type=name, types=", ".join(self.output_names)) from None

    def check_output(self, name: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``save_result``'s check: the canonical name of output ``name`` and its checked options.

        ``FileTypeInvalid`` when the format is unknown, the writer's error when an option
        is wrong; this is the same writer :func:`eostation.jobs.execute.write_outputs` runs.
        """
        writer = self.get_writer(name)
        return writer.name, writer.check_options(options)

    def get_reader(self, name: str) -> Reader:
        """The reader for ``name`` (any case); ``FileTypeInvalid`` when unknown."""
        try:
            return self._readers[str(name).lower()]
        except KeyError:
            raise FileTypeInvalid(type=name, types=", ".join(self.input_names)) from None

    def describe(self) -> dict[str, Any]:
        """The ``GET /file_formats`` response body: ``{"input": {...}, "output": {...}}``."""
        return {
            "input": {r.name: r.describe() for r in self._readers.values()},
            "output": {w.name: w.describe() for w in self._writers.values() if w.listed},
        }


def default_formats() -> FormatRegistry:
    """A registry with every format that eostation ships."""
    # Imported here: the format modules import the package, whose __init__ imports this.
    from eostation.formats.csvfile import CSVWriter
    from eostation.formats.geoparquet import GeoParquetWriter
    from eostation.formats.gtiff import GTIFF_READER, COGWriter, GTiffWriter
    from eostation.formats.jsonfile import JSONWriter
    from eostation.formats.mlmodel import MLModelWriter
    from eostation.formats.netcdf import NETCDF_READER, NetCDFWriter
    from eostation.formats.png import PNGWriter
    from eostation.formats.zarrfile import ZarrWriter

    return FormatRegistry(
        writers=[
            GTiffWriter(),
            COGWriter(),
            NetCDFWriter(),
            JSONWriter(),
            CSVWriter(),
            GeoParquetWriter(),
            PNGWriter(),
            ZarrWriter(),
            MLModelWriter(),
        ],
        readers=[GTIFF_READER, NETCDF_READER],
    )

"""The contract of an output format (a writer) and of an input format (a reader)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import xarray as xr

from eostation.formats.options import Option, validate_options
from eostation.formats.output import OutputFile

__all__ = ["Reader", "Writer", "describe_format"]


def describe_format(
    title: str,
    description: str,
    gis_data_types: tuple[str, ...],
    options: Mapping[str, Option],
    links: tuple[Mapping[str, str], ...],
) -> dict[str, Any]:
    """One entry of ``GET /file_formats`` (``file_format`` schema of the openEO API)."""
    return {
        "title": title,
        "description": description,
        "gis_data_types": list(gis_data_types),
        "parameters": {name: opt.describe() for name, opt in options.items()},
        "links": [dict(link) for link in links],
    }


class Writer(ABC):
    """An output format of ``save_result``.

    Subclasses set the class attributes and implement :meth:`_write`; callers use
    :meth:`write`, which validates the options first (so that an invalid option
    fails before any computation starts, call :meth:`check_options` early).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    media_type: ClassVar[str]
    gis_data_types: ClassVar[tuple[str, ...]]
    options: ClassVar[Mapping[str, Option]] = {}
    links: ClassVar[tuple[Mapping[str, str], ...]] = ()
    listed: ClassVar[bool] = True
    """False for internal formats that ``GET /file_formats`` does not show."""

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated options with defaults filled in; raises ``ProcessParameterInvalid``."""
        return validate_options(self.name, self.options, options)

    def write(
        self, data: Any, directory: Path, options: Mapping[str, Any] | None = None
    ) -> list[OutputFile]:
        """Write ``data`` (raster cube, vector cube or plain value) into ``directory``.

        Returns the files written, in a stable order. Raises ``FormatUnsuitable``
        when the data cannot be held by this format.
        """
        opts = self.check_options(options)
        directory.mkdir(parents=True, exist_ok=True)
        return self._write(data, directory, opts)

    @abstractmethod
    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        """Write with already validated options."""

    def describe(self) -> dict[str, Any]:
        """This format's entry in the ``output`` map of ``GET /file_formats``."""
        return describe_format(
            self.title, self.description, self.gis_data_types, self.options, self.links
        )


class ReadFunction(Protocol):
    def __call__(self, path: Path, options: dict[str, Any]) -> xr.DataArray: ...


@dataclass(frozen=True)
class Reader:
    """An input format: reads a file into a (lazy) cube."""

    name: str
    title: str
    description: str
    gis_data_types: tuple[str, ...]
    read_function: ReadFunction
    options: Mapping[str, Option] = field(default_factory=dict)
    links: tuple[Mapping[str, str], ...] = ()

    def read(self, path: Path, options: Mapping[str, Any] | None = None) -> xr.DataArray:
        """Open ``path`` as a cube; raises ``ProcessParameterInvalid`` on bad options."""
        return self.read_function(path, validate_options(self.name, self.options, options))

    def describe(self) -> dict[str, Any]:
        """This format's entry in the ``input`` map of ``GET /file_formats``."""
        return describe_format(
            self.title, self.description, self.gis_data_types, self.options, self.links
        )

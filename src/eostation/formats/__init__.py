"""save_result writers, input readers, and the registry behind ``GET /file_formats``."""

from __future__ import annotations

from eostation.errors import DataCubeEmpty, FormatUnsuitable
from eostation.formats.options import Option
from eostation.formats.output import OutputFile, bundle
from eostation.formats.registry import FormatRegistry, default_formats
from eostation.formats.writer import Reader, Writer

__all__ = [
    "DataCubeEmpty",
    "FormatRegistry",
    "FormatUnsuitable",
    "Option",
    "OutputFile",
    "Reader",
    "Writer",
    "bundle",
    "default_formats",
]

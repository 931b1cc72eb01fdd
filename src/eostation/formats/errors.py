"""The two errors that the ``save_result`` process spec declares.

They subclass :class:`eostation.errors.OpenEOError`, so the API renders them like
every other openEO error and :func:`eostation.errors.error_class` finds them by code.
"""

from __future__ import annotations

from eostation.errors import OpenEOError

__all__ = ["DataCubeEmpty", "FormatUnsuitable"]


class FormatUnsuitable(OpenEOError):
    code, status = "FormatUnsuitable", 400
    template = "Data can't be transformed into the output format {format}: {reason}"


class DataCubeEmpty(OpenEOError):
    code, status = "DataCubeEmpty", 400
    template = "The file format {format} doesn't support storing empty data cubes."

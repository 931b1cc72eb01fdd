"""CSV output: vector cubes as one row per (geometry, date), and simple plain values."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from eostation.errors import FormatUnsuitable
from eostation.formats.cubes import is_raster_cube, is_vector_cube
from eostation.formats.jsonfile import geometry_names
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.tables import values_table, vector_table
from eostation.formats.writer import Writer

__all__ = ["CSVWriter"]


class CSVWriter(Writer):
    """Comma-separated values, ``openEO.csv``."""

    name: ClassVar[str] = "CSV"
    title: ClassVar[str] = "Comma Separated Values"
    description: ClassVar[str] = (
        "`openEO.csv`. A vector cube (`aggregate_spatial`) as one row per geometry and date: "
        "columns `feature_index`, other per-geometry properties, `date` (ISO 8601), then one "
        "column per band (`value` when the cube has no bands). Plain values: a number or list "
        "as a `value` column, a list of lists as rows, an object of lists as columns. Empty "
        "cells are missing values."
    )
    media_type: ClassVar[str] = "text/csv"
    gis_data_types: ClassVar[tuple[str, ...]] = ("table", "vector")
    options: ClassVar[dict[str, Option]] = {"filename_prefix": FILENAME_PREFIX}
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {"href": "https://www.rfc-editor.org/rfc/rfc4180", "rel": "about", "title": "CSV"},
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        extra: dict[str, Any] = {}
        bands: tuple[str, ...] | None = None
        if is_vector_cube(data):
            table, _ = vector_table(data, self.name)
            if "bands" in data.dims:
                bands = tuple(str(b) for b in data["bands"].values)
            extra["eostation:geometry_count"] = int(data.sizes["geometries"])
            names = geometry_names(data)
            if names is not None:
                extra["eostation:geometry_names"] = names
        elif is_raster_cube(data):
            raise FormatUnsuitable(
                format=self.name,
                reason="raster cubes need a raster format (GTiff, netCDF, Zarr); "
                "aggregate_spatial turns them into tables",
            )
        else:
            table = values_table(data, self.name)
        path = directory / f"{file_prefix(self.name, options)}.csv"
        table.to_csv(path, index=False)
        return [OutputFile(path=path, media_type=self.media_type, bands=bands, extra=extra)]

"""GeoParquet output: a vector cube as a GeoDataFrame, one row per (geometry, date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd

from eostation.formats.jsonfile import geometry_names
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.tables import vector_table
from eostation.formats.writer import Writer

__all__ = ["GeoParquetWriter"]


class GeoParquetWriter(Writer):
    """GeoParquet 1.x via geopandas, ``openEO.parquet``."""

    name: ClassVar[str] = "GeoParquet"
    title: ClassVar[str] = "GeoParquet"
    description: ClassVar[str] = (
        "`openEO.parquet`: a vector cube as one row per geometry and date, with the columns "
        "of CSV (`feature_index`, per-geometry properties, `date`, one column per band) plus "
        "the `geometry` column in the cube's CRS. Read it with `geopandas.read_parquet`."
    )
    media_type: ClassVar[str] = "application/vnd.apache.parquet"
    gis_data_types: ClassVar[tuple[str, ...]] = ("vector", "table")
    options: ClassVar[dict[str, Option]] = {"filename_prefix": FILENAME_PREFIX}
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {"href": "https://geoparquet.org/", "rel": "about", "title": "GeoParquet"},
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        table, geometries = vector_table(data, self.name)
        # xvec keeps the CRS on the GeometryIndex; a plain index means "unknown CRS"
        crs = getattr(data.xindexes.get("geometries"), "crs", None)
        geometry = [geometries[i] for i in table["feature_index"]]
        frame = gpd.GeoDataFrame(table, geometry=geometry, crs=crs)
        path = directory / f"{file_prefix(self.name, options)}.parquet"
        frame.to_parquet(path, index=False)
        extra: dict[str, Any] = {"eostation:geometry_count": len(geometries)}
        names = geometry_names(data)
        if names is not None:
            extra["eostation:geometry_names"] = names
        if crs is not None and crs.to_epsg() is not None:
            extra["proj:epsg"] = crs.to_epsg()
        bands = tuple(str(b) for b in data["bands"].values) if "bands" in data.dims else None
        return [OutputFile(path=path, media_type=self.media_type, bands=bands, extra=extra)]

"""A collection of local GeoTIFF/COG, netCDF or Zarr files (a ``collections.toml`` entry)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo import geom

from eostation.data.bands import select_bands
from eostation.data.base import LoadRequest, load_error
from eostation.data.document import collection_document, grid_dimensions, queryables_document
from eostation.data.request import request_area, request_interval

from .config import FileCollectionConfig
from .cube import assemble, target_grid
from .granules import Granule, discover

__all__ = ["FileCollection"]


def _iso(t: np.datetime64) -> str:
    return str(pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ"))


class FileCollection:
    """Local files as a collection: STAC metadata from the files, lazy cubes from windows."""

    def __init__(self, config: FileCollectionConfig, granules: list[Granule] | None = None) -> None:
        self.config = config
        self.granules = granules if granules is not None else discover(config)

    @property
    def id(self) -> str:
        """The collection id."""
        return self.config.id

    @cached_property
    def _native(self) -> dict[str, Any] | None:
        """The shared native grid (EPSG, pixel size, extent) when all granules have one."""
        boxes = [g.geobox for g in self.granules]
        first = boxes[0]
        if first.crs is None or first.crs.epsg is None or any(b.crs != first.crs for b in boxes):
            return None
        step = (abs(first.resolution.x), abs(first.resolution.y))
        if any((abs(b.resolution.x), abs(b.resolution.y)) != step for b in boxes):
            return None
        bounds = [b.extent.boundingbox for b in boxes]
        extent = (
            min(b.left for b in bounds), min(b.bottom for b in bounds),
            max(b.right for b in bounds), max(b.top for b in bounds),
        )  # fmt: skip
        return {"epsg": first.crs.epsg, "step": step, "extent": extent}

    def metadata(self) -> dict[str, Any]:
        """The STAC Collection, extents computed from the files."""
        boxes = [g.bbox4326 for g in self.granules]
        bbox = (
            min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes),
        )  # fmt: skip
        times = [g.time for g in self.granules]
        cfg = self.config
        return collection_document(
            collection_id=cfg.id,
            title=cfg.title,
            description=cfg.description,
            keywords=cfg.keywords,
            license=cfg.license,
            bands=[b.band for b in cfg.bands],
            bbox4326=bbox,
            interval=(_iso(min(times)), _iso(max(times))),
            spatial=grid_dimensions(bbox, self._native),
            extra={"eostation:files": len({g.path for g in self.granules})},
        )

    def queryables(self) -> dict[str, Any]:
        """Local files carry no filterable metadata properties."""
        return queryables_document(self.id, {})

    def load(self, request: LoadRequest) -> xr.DataArray:
        """A lazy ``(t, bands, y, x)`` float32 cube (NaN nodata) on the files' grid."""
        if request.properties:
            raise load_error("properties", f"{self.id} (local files) has no queryable properties.")
        if request.options:
            raise load_error(
                "featureflags", f"unsupported load options {sorted(request.options)} for {self.id}."
            )
        chosen = select_bands([s.band for s in self.config.bands], request.bands)
        by_name = {s.name: s for s in self.config.bands}
        bands = [by_name[b.name] for b in chosen]
        start, end = request_interval(request.temporal)
        area = request_area(request)
        footprint = area.to_crs(4326) if area is not None else None
        in_time = [
            g
            for g in self.granules
            if (start is None or g.time >= start) and (end is None or g.time < end)
        ]
        selected = [
            g
            for g in in_time
            if footprint is None or footprint.intersects(geom.box(*g.bbox4326, 4326))
        ]
        grid = target_grid(selected, area) if selected else None
        if grid is None:
            raise load_error(
                "spatial_extent" if in_time else "temporal_extent",
                f"{self.id} has no data in the requested extent and interval "
                f"(data: {self.metadata()['extent']}).",
            )
        days: dict[np.datetime64, list[Granule]] = {}
        for g in selected:
            days.setdefault(g.time.astype("datetime64[D]").astype("datetime64[ns]"), []).append(g)
        return assemble(self.config, sorted(days.items(), key=lambda kv: kv[0]), bands, grid)

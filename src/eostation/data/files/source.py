"""A collection of local GeoTIFF/COG, netCDF or Zarr files (a ``collections.toml`` entry)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo import geom

from eostation.data.base import LoadRequest, load_error, utc_timestamp
from eostation.data.demo.bands import select_bands

from .config import BandSpec, FileCollectionConfig
from .cube import assemble, target_grid
from .granules import Granule, discover

__all__ = [
    "FileCollection",
    "collection_document",
    "request_area",
    "request_interval",
]

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]


def request_area(request: LoadRequest) -> geom.Geometry | None:
    """The requested area as an odc-geo geometry in the request CRS (None: everything)."""
    if request.geometry is not None:
        area = geom.Geometry(request.geometry, "EPSG:4326")
        return (
            area
            if request.bbox is None
            else area & geom.box(*request.bbox, request.crs).to_crs(4326)
        )
    if request.bbox is None:
        return None
    w, s, e, n = (float(v) for v in request.bbox)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or w >= e or s >= n:
        raise load_error(
            "spatial_extent",
            f"bbox {request.bbox} is empty or not finite (west < east, south < north).",
        )
    try:
        return geom.box(w, s, e, n, request.crs)
    except Exception as exc:  # pyproj raises several unrelated types for a bad CRS
        raise load_error("spatial_extent", f"CRS {request.crs!r} is not usable: {exc}") from exc


def request_interval(
    temporal: tuple[str | None, str | None] | None,
) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """A half-open ``[start, end)`` as UTC-naive ``datetime64[ns]`` (None: open)."""
    out: list[np.datetime64 | None] = []
    for value in temporal or (None, None):
        if value is None:
            out.append(None)
            continue
        ts = utc_timestamp(value)
        out.append(np.datetime64(ts.to_datetime64(), "ns"))
    start, end = out
    if start is not None and end is not None and end <= start:
        raise load_error("temporal_extent", f"[{temporal[0]}, {temporal[1]}) is empty.")  # type: ignore[index]
    return start, end


def _iso(t: np.datetime64) -> str:
    return str(pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ"))


def collection_document(
    *,
    collection_id: str,
    title: str,
    description: str,
    keywords: Sequence[str],
    license: str,
    bands: Sequence[BandSpec],
    bbox4326: tuple[float, float, float, float],
    interval: tuple[str | None, str | None],
    grid: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A STAC 1.0.0 Collection (without ``links``) with datacube, eo and raster metadata.
    ``grid``: ``{"epsg", "step": (x, y), "extent": (w, s, e, n)}`` in the native CRS."""
    spatial: dict[str, Any] = {}
    for axis, k in (("x", 0), ("y", 1)):
        dim: dict[str, Any] = {"type": "spatial", "axis": axis}
        if grid is not None:
            lo, hi = grid["extent"][k], grid["extent"][k + 2]
            dim.update(extent=[lo, hi], reference_system=grid["epsg"], step=grid["step"][k])
        else:
            dim.update(extent=[bbox4326[k], bbox4326[k + 2]], reference_system=4326, step=None)
        spatial[axis] = dim
    optical = any(b.band.wavelength is not None for b in bands)
    summaries: dict[str, Any] = {"raster:bands": [b.band.raster() for b in bands]}
    if optical:
        summaries["eo:bands"] = [b.band.eo() for b in bands]
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [e for e in STAC_EXTENSIONS if optical or "/eo/" not in e],
        "id": collection_id,
        "title": title,
        "description": description,
        "keywords": list(keywords),
        "license": license,
        "extent": {
            "spatial": {"bbox": [list(bbox4326)]},
            "temporal": {"interval": [list(interval)]},
        },
        "cube:dimensions": {
            **spatial,
            "t": {"type": "temporal", "extent": list(interval), "step": None},
            "bands": {"type": "bands", "values": [b.name for b in bands]},
        },
        "summaries": summaries,
        **(extra or {}),
    }


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
            bands=cfg.bands,
            bbox4326=bbox,
            interval=(_iso(min(times)), _iso(max(times))),
            grid=self._native,
            extra={"eostation:files": len({g.path for g in self.granules})},
        )

    def queryables(self) -> dict[str, Any]:
        """Local files carry no filterable metadata properties."""
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"eostation:{self.id}/queryables",
            "type": "object",
            "title": f"Queryables of {self.id}",
            "properties": {},
            "additionalProperties": False,
        }

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

"""A collection backed by a HEALPix/Zarr archive, so ``load_collection`` reads from it.

Register it in ``collections.toml`` with ``type = "archive"``::

    [[collections]]
    type = "archive"
    id = "MY_S2_ARCHIVE"
    path = "archive.zarr"       # relative to the TOML's folder, or s3://bucket/archive.zarr
    resolution = 0.0002         # output pixel size in degrees (default: ~one cell)

(``data/registry.py`` dispatches on ``type``; its owner adds the ``"archive"`` branch
calling :func:`archive_collection`.) Loads come back on a regular EPSG:4326 grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo import geom
from shapely.geometry import shape

from eostation.archive import Archive

from .bands import Band
from .base import LoadRequest, load_error
from .config import ArchiveEntry, parse_entry
from .document import collection_document, grid_dimensions, queryables_document

__all__ = ["ArchiveSource", "archive_collection"]


class ArchiveSource:
    """A :class:`~eostation.data.base.CollectionSource` reading an archive."""

    def __init__(
        self,
        collection_id: str,
        path: Path | str,
        title: str | None = None,
        resolution: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._id, self.title = collection_id, title or collection_id
        self.archive = Archive(path, options=options)
        self.resolution = resolution

    @property
    def id(self) -> str:
        """The collection id."""
        return self._id

    def _resolution(self) -> float:
        if self.resolution:
            return self.resolution
        # one cell edge in degrees of latitude, rounded to a tidy value
        deg = self.archive.grid.cell_size / 111_320.0
        return float(f"{deg:.1g}")

    def metadata(self) -> dict[str, Any]:
        """STAC Collection with the archive's coverage, dates and bands."""
        info = self.archive.info()
        dates = info["dates"]
        bbox = info["coverage_bbox"] or [-180.0, -90.0, 180.0, 90.0]
        bands = list(info["bands"])
        raster = [self.archive.store.band_attrs(b) | {"name": b} for b in bands]
        res = self._resolution()
        interval = (dates[0] + "Z", dates[-1] + "Z") if dates else (None, None)
        return collection_document(
            collection_id=self.id,
            title=self.title,
            description=f"HEALPix level-{info['grid']['refinement_level']} archive at {info['path']}",
            keywords=[],
            license="proprietary",
            bands=[Band(name=b, description=b) for b in bands],
            bbox4326=bbox,
            interval=interval,
            spatial=grid_dimensions(bbox, {"epsg": 4326, "step": (res, res), "extent": bbox}),
            summaries={"raster:bands": raster, "eo:bands": [{"name": b} for b in bands]},
        )

    def queryables(self) -> dict[str, Any]:
        """No filterable properties."""
        return queryables_document(self.id, {})

    def load(self, request: LoadRequest) -> xr.DataArray:
        """A ``(t, bands, y, x)`` float32 cube on a regular EPSG:4326 grid over the request."""
        if request.properties:
            raise load_error("properties", f"{self.id} has no filterable properties.")
        bbox = request.bbox
        if bbox is None:
            if request.geometry is None:
                raise load_error("spatial_extent", "give a bounding box for an archive collection.")
            bbox = tuple(shape(request.geometry).bounds)
        elif request.crs not in (4326, "4326", "EPSG:4326"):
            bbox = tuple(geom.box(*bbox, request.crs).to_crs(4326).boundingbox)  # type: ignore[assignment]
        assert bbox is not None
        res = self._resolution()
        w, s, e, n = bbox
        # snap to the output lattice so neighbouring requests share pixels
        box = (
            math.floor(w / res) * res,
            math.floor(s / res) * res,
            math.ceil(e / res) * res,
            math.ceil(n / res) * res,
        )
        try:
            ds = self.archive.query(box, request.temporal, res, bands=request.bands)
        except KeyError as exc:
            raise load_error("bands", str(exc)) from None
        if ds.sizes["time"] == 0:
            raise load_error("temporal_extent", f"{self.id} holds no date in {request.temporal}.")
        names = list(ds.data_vars)
        cube = (
            ds[names]
            .to_dataarray(dim="bands")
            .rename({"time": "t", "latitude": "y", "longitude": "x"})
            .transpose("t", "bands", "y", "x")
        )
        data = da.from_array(cube.values.astype(np.float32), chunks=(1, 1, 2048, 2048))
        out = cube.copy(data=data)
        out.name = self.id
        out.attrs = {
            "collection": self.id,
            "nodata": float("nan"),
            "raster:bands": [self.archive.store.band_attrs(str(b)) | {"name": b} for b in names],
        }
        return out


def archive_collection(
    entry: Mapping[str, Any], base: Path, options: Mapping[str, Any] | None = None
) -> ArchiveSource:
    """An :class:`ArchiveSource` from a ``[[collections]]`` TOML entry (``id``, ``path``, ...).

    ``path`` may be an fsspec URL (``s3://…``), opened with the storage ``options``.
    """
    e = parse_entry(entry, ArchiveEntry)
    if "://" in e.path:
        return ArchiveSource(e.id, e.path, e.title, e.resolution, options)
    path = Path(e.path)
    where = path if path.is_absolute() else base / path
    return ArchiveSource(e.id, where, e.title, e.resolution)

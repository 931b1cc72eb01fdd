"""Zarr output: an ``openEO.zarr`` store (Zarr v3), chunked, in the CF layout of netCDF."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from eostation.formats.dataset import cube_to_dataset
from eostation.formats.netcdf import stac_fields
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.writer import Writer

__all__ = ["ZarrWriter"]

_SPATIAL_CHUNK = 1024


def _regular_chunks(ds: xr.Dataset) -> xr.Dataset:
    """Zarr needs one chunk size per dimension: use the cube's first chunk (or a default)."""
    sizes: dict[str, int] = {}
    for dim, size in ds.sizes.items():
        chunks = ds.chunks.get(dim) if ds.chunks else None
        if chunks:
            sizes[str(dim)] = int(chunks[0])
        elif dim in ("x", "y"):
            sizes[str(dim)] = min(int(size), _SPATIAL_CHUNK)
        elif dim == "t":
            sizes[str(dim)] = 1
        else:
            sizes[str(dim)] = int(size)
    return ds.chunk(sizes)


class ZarrWriter(Writer):
    """Zarr v3 store: one variable per band, chunked, CRS as a CF grid mapping."""

    name: ClassVar[str] = "Zarr"
    title: ClassVar[str] = "Zarr"
    description: ClassVar[str] = (
        "A Zarr v3 store `openEO.zarr` (a directory) in the same CF layout as netCDF: one "
        "variable per band, a `crs` grid-mapping variable, chunks following the cube's dask "
        "chunks (else 1024×1024 pixels and one date). Open it with `xarray.open_zarr`."
    )
    media_type: ClassVar[str] = "application/vnd+zarr"
    gis_data_types: ClassVar[tuple[str, ...]] = ("raster", "vector")
    options: ClassVar[dict[str, Option]] = {"filename_prefix": FILENAME_PREFIX}
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {
            "href": "https://zarr-specs.readthedocs.io/en/latest/v3/core/index.html",
            "rel": "about",
            "title": "Zarr v3",
        },
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        ds = _regular_chunks(cube_to_dataset(data, self.name))
        for var in ds.variables.values():
            var.encoding.pop("chunks", None)
            var.encoding.pop("preferred_chunks", None)
        path = directory / f"{file_prefix(self.name, options)}.zarr"
        if path.exists():
            shutil.rmtree(path)
        ds.to_zarr(path, mode="w", zarr_format=3, consolidated=True)
        return [OutputFile(path=path, media_type=self.media_type, **stac_fields(data))]

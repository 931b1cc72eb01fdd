"""GeoTIFF output (always cloud-optimized) and input.

A cube without ``t`` becomes ``openEO.tif``. A cube with a ``t`` dimension becomes
one file per label, named as CDSE names them, ``openEO_2022-09-07Z.tif`` — also
when ``t`` holds a single label, so that a graph's file names do not depend on how
many dates the data happened to have. Bands are the file's bands, in cube order,
with the band names as descriptions.

Each band carries ``STATISTICS_MINIMUM/MAXIMUM/MEAN/STDDEV/VALID_PERCENT`` (gathered
while the blocks are written, see :mod:`.bandstats`), also listed in the asset's
``raster:bands`` so that viewers can stretch the image without reading it.

Large dask cubes are streamed: chunks are computed a batch at a time and written
window by window into a tiled scratch GeoTIFF, which GDAL's COG driver then copies into
the final file. Their overviews are halved from the same blocks as they are written
(:mod:`.pyramid`), so the copy does not read the full resolution back to build them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, ClassVar

import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from dask.base import compute
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.windows import Window

from eostation.errors import FormatUnsuitable
from eostation.formats.bandstats import BandStatistics
from eostation.formats.cubes import RasterLayer, grid_fields, raster_layers, time_stamps
from eostation.formats.options import FILENAME_PREFIX, Option, file_prefix
from eostation.formats.output import OutputFile
from eostation.formats.pyramid import Pyramid
from eostation.formats.writer import Reader, Writer

__all__ = ["GTIFF_READER", "COGWriter", "GTiffWriter", "read_gtiff"]

# Computed chunks held at once while streaming (at 64 MB a 10k² layer peaked at 0.7×).
_BATCH_BYTES = 16 * 2**20
# Up to this size a layer is assembled in memory (overviews then read memory: 2.5× faster
# for the benchmark cubes); larger ones stream through a scratch file so that peak memory
# stays flat (~150 MB) whatever the request size.
_IN_MEMORY_BYTES = 64 * 2**20
_GDAL_CACHE_MB = 64
_BLOCK = 512
_GDAL_LINKS = (
    {
        "href": "https://gdal.org/drivers/raster/cog.html",
        "rel": "about",
        "title": "GDAL COG driver",
    },
)


def _gdal_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype == np.bool_:
        return np.dtype("uint8")
    if dtype.kind in "biuf" and dtype.itemsize <= 8:
        return dtype
    raise FormatUnsuitable(format="GTiff", reason=f"values of type {dtype} cannot be stored")


def _nodata(layer: RasterLayer, dtype: np.dtype[Any], requested: float | None) -> float | None:
    if requested is not None:
        if dtype.kind in "iu" and not (
            float(requested).is_integer()
            and np.iinfo(dtype).min <= requested <= np.iinfo(dtype).max
        ):
            raise FormatUnsuitable(
                format="GTiff", reason=f"nodata {requested} does not fit values of type {dtype}"
            )
        return float(requested)
    for key in ("nodata", "_FillValue"):
        if layer.data.attrs.get(key) is not None:
            return float(layer.data.attrs[key])
    return math.nan if dtype.kind == "f" else None


def _batches(arr: Any) -> Iterator[list[tuple[Window, int, Any]]]:
    """(window, first band, lazy or eager block) of a ``(bands, y, x)`` array, in batches."""
    if not isinstance(arr, da.Array):
        yield [(Window(0, 0, arr.shape[2], arr.shape[1]), 0, arr)]
        return
    offsets = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in arr.chunks]
    batch: list[tuple[Window, int, Any]] = []
    size = 0
    for idx in np.ndindex(*arr.numblocks):
        block = arr.blocks[idx]
        window = Window(offsets[2][idx[2]], offsets[1][idx[1]], block.shape[2], block.shape[1])
        batch.append((window, int(offsets[0][idx[0]]), block))
        size += block.nbytes
        if size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _profile(layer: RasterLayer, nodata: float | None, *, compressed: bool) -> dict[str, Any]:
    """Creation options of the intermediate GeoTIFF that the COG is copied from."""
    dtype = _gdal_dtype(np.dtype(layer.data.dtype))
    geobox = layer.geobox
    count, height, width = layer.data.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype.name,
        "crs": geobox.crs.to_wkt() if geobox.crs is not None else None,
        "transform": geobox.affine,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": _BLOCK,
        "blockysize": _BLOCK,
        "bigtiff": "IF_SAFER",
    }
    if compressed:
        profile.update(compress="ZSTD", zstd_level=1)
    return profile


def _fill(
    dst: Any,
    layer: RasterLayer,
    nodata: float | None,
    written: Callable[[np.ndarray[Any, Any], Window, int], None] | None = None,
) -> BandStatistics:
    """Compute ``layer`` a batch of chunks at a time and write it window by window.

    ``written`` sees every block as written (values, window, first band). Returns the
    statistics of the values written, which are also set as band tags.
    """
    dtype = _gdal_dtype(np.dtype(layer.data.dtype))
    fill = nodata if nodata is not None and not math.isnan(nodata) and dtype.kind == "f" else None
    for i, band in enumerate(layer.bands or (), start=1):
        dst.set_band_description(i, band)
    stats = BandStatistics(dst.count, nodata)
    for batch in _batches(layer.data.data):
        computed = compute(*(b for _, _, b in batch))
        for (window, first, _), value in zip(batch, computed, strict=True):
            block = np.asarray(value).astype(dtype, copy=False)
            stats.add(block, first)
            if fill is not None:
                block = np.where(np.isnan(block), fill, block)
            indexes = list(range(first + 1, first + block.shape[0] + 1))
            dst.write(block, indexes=indexes, window=window)
            if written is not None:
                written(block, window, first)
    for i in range(dst.count):
        dst.update_tags(i + 1, **stats.gdal_tags(i))
    return stats


def write_cog(
    layer: RasterLayer, path: Path, *, compress: str, overviews: str, nodata: float | None
) -> dict[str, Any]:
    """Write one ``(bands, y, x)`` layer as a cloud-optimized GeoTIFF at ``path``.

    A layer of at most :data:`_IN_MEMORY_BYTES` is assembled in memory and copied from
    there; a larger one goes through a compressed scratch file next to ``path``.
    Returns the STAC asset fields of the file: ``raster:bands`` with statistics.
    """
    dtype = _gdal_dtype(np.dtype(layer.data.dtype))
    nodata = _nodata(layer, dtype, nodata)
    options: dict[str, Any] = {
        "COMPRESS": compress,
        "BLOCKSIZE": _BLOCK,
        "OVERVIEWS": "AUTO" if overviews == "AUTO" else "NONE",
        "RESAMPLING": "NEAREST" if dtype.kind in "biu" else "AVERAGE",
        "BIGTIFF": "IF_SAFER",
    }
    if compress != "NONE":
        options["PREDICTOR"] = "YES"
    nbytes = int(np.prod(layer.data.shape)) * dtype.itemsize
    if nbytes <= _IN_MEMORY_BYTES:
        # Overviews then read memory, not a compressed file; GDAL's default block cache
        # is left alone here (a smaller one makes the copy about twice as slow, and the
        # data bound the cache's use anyway).
        profile = _profile(layer, nodata, compressed=False)
        with rasterio.MemoryFile() as memory, memory.open(**profile) as dst:
            stats = _fill(dst, layer, nodata)
            rasterio.shutil.copy(dst, path, driver="COG", **options)
        return _raster_bands(stats, dtype, nodata)
    scratch = path.with_name(path.name + ".partial.tif")
    profile = _profile(layer, nodata, compressed=True)
    chunks = layer.data.chunks if isinstance(layer.data.data, da.Array) else None
    pyramid = None
    if overviews == "AUTO":
        average = options["RESAMPLING"] == "AVERAGE"
        pyramid = Pyramid.plan(scratch, profile, chunks, average=average)
    try:
        # GDAL's block cache defaults to 5 % of RAM; keep a writer's footprint small
        with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_MB):
            with rasterio.open(scratch, "w", **profile) as dst, pyramid or nullcontext():
                stats = _fill(dst, layer, nodata, pyramid.add if pyramid else None)
            source = scratch
            if pyramid is not None:
                source = pyramid.source(scratch)
                options["OVERVIEWS"] = "FORCE_USE_EXISTING"
            rasterio.shutil.copy(source, path, driver="COG", **options)
    finally:
        scratch.unlink(missing_ok=True)
        if pyramid is not None:
            pyramid.remove()
    return _raster_bands(stats, dtype, nodata)


def _raster_bands(
    stats: BandStatistics, dtype: np.dtype[Any], nodata: float | None
) -> dict[str, Any]:
    """``{"raster:bands": [...]}``: data type, nodata and the statistics of each band."""
    bands = []
    for i in range(stats.bands):
        entry: dict[str, Any] = {"data_type": dtype.name}
        if nodata is not None:
            entry["nodata"] = "nan" if math.isnan(nodata) else nodata
        summary = stats.summary(i)
        if summary is not None:
            entry["statistics"] = summary
        bands.append(entry)
    return {"raster:bands": bands}


class GTiffWriter(Writer):
    """GeoTIFF: one tiled, compressed, cloud-optimized file per date."""

    name: ClassVar[str] = "GTiff"
    title: ClassVar[str] = "GeoTiff"
    description: ClassVar[str] = (
        "Cloud-optimized GeoTIFF (tiled 512×512, compressed, with overviews when larger than "
        "one tile). Bands of the cube become bands of the file, with the band names as "
        "descriptions. Without a `t` dimension the result is `openEO.tif`; with one, it is one "
        "file per date named `openEO_<YYYY-MM-DD>Z.tif` (with the time of day, "
        "`openEO_<YYYY-MM-DDTHH-MM-SS>Z.tif`, when two dates fall on the same day). Other "
        "dimensions must be reduced first."
    )
    media_type: ClassVar[str] = "image/tiff; application=geotiff"
    gis_data_types: ClassVar[tuple[str, ...]] = ("raster",)
    options: ClassVar[dict[str, Option]] = {
        "compress": Option(
            "Compression of the tiles.",
            {"type": "string", "enum": ["DEFLATE", "LZW", "ZSTD", "NONE"]},
            default="DEFLATE",
        ),
        "overviews": Option(
            "`AUTO` adds overviews (reduced resolutions) down to one tile; `NONE` writes none.",
            {"type": "string", "enum": ["AUTO", "NONE"]},
            default="AUTO",
        ),
        "nodata": Option(
            "Value marking missing pixels; NaN values of the cube are written as this value. "
            "Default: NaN for floating point data, else the cube's own nodata value if any.",
            {"type": ["number", "null"]},
            default=None,
        ),
        "filename_prefix": FILENAME_PREFIX,
    }
    links: ClassVar[tuple[dict[str, str], ...]] = (
        {
            "href": "https://gdal.org/drivers/raster/gtiff.html",
            "rel": "about",
            "title": "GDAL on GeoTIFF",
        },
        *_GDAL_LINKS,
    )

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        prefix = file_prefix(self.name, options)
        layers = list(raster_layers(data, self.name))
        if layers[0].time is None:
            names = [f"{prefix}.tif"]
        else:
            names = [f"{prefix}_{s}.tif" for s in time_stamps([lay.time for lay in layers])]
        out: list[OutputFile] = []
        for layer, name in zip(layers, names, strict=True):
            path = directory / name
            extra = write_cog(
                layer,
                path,
                compress=options["compress"],
                overviews=options["overviews"],
                nodata=options["nodata"],
            )
            out.append(
                OutputFile(
                    path=path,
                    media_type=self.media_type,
                    datetime=layer.datetime,
                    bands=layer.bands,
                    extra=extra,
                    **grid_fields(layer.geobox),
                )
            )
        return out


class COGWriter(GTiffWriter):
    """The same files as GTiff, announced with the cloud-optimized media type."""

    name: ClassVar[str] = "COG"
    title: ClassVar[str] = "Cloud Optimized GeoTiff"
    media_type: ClassVar[str] = "image/tiff; application=geotiff; profile=cloud-optimized"


class _WindowedFile:
    """A GeoTIFF as a lazily indexable ``(bands, y, x)`` array (for ``dask.array``)."""

    def __init__(self, path: Path, shape: tuple[int, int, int], dtype: np.dtype[Any]) -> None:
        self.path, self.shape, self.dtype, self.ndim = path, shape, dtype, 3

    def __getitem__(self, key: tuple[slice, slice, slice]) -> np.ndarray[Any, Any]:
        b, y, x = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        window = Window.from_slices((y[0], y[1]), (x[0], x[1]))
        with rasterio.open(self.path) as src:
            return np.asarray(src.read(list(range(b[0] + 1, b[1] + 1)), window=window))


def read_gtiff(path: Path, options: dict[str, Any]) -> xr.DataArray:
    """Open a GeoTIFF lazily as a ``(bands, y, x)`` cube (band names from descriptions).

    The file's nodata value is kept in ``attrs["nodata"]``; values are not masked.
    """
    with rasterio.open(path) as src:
        shape = (src.count, src.height, src.width)
        dtype = np.dtype(src.dtypes[0])
        geobox = GeoBox(
            (src.height, src.width), src.transform, src.crs.to_wkt() if src.crs else None
        )
        names = [d or str(i) for i, d in enumerate(src.descriptions, start=1)]
        nodata = src.nodata
        block = src.block_shapes[0]
    chunks = (
        1,
        max(block[0], 2048 // block[0] * block[0]),
        max(block[1], 2048 // block[1] * block[1]),
    )
    arr = da.from_array(_WindowedFile(path, shape, dtype), chunks=chunks, asarray=True)
    coords = {"bands": names, **xr_coords(geobox)}
    return xr.DataArray(arr, dims=("bands", "y", "x"), coords=coords, attrs={"nodata": nodata})


GTIFF_READER = Reader(
    name="GTiff",
    title="GeoTiff",
    description=(
        "A GeoTIFF (or COG) file, read as a cube with dimensions `bands`, `y`, `x`; band names "
        "are the band descriptions, or `1`, `2`, … when a band has none."
    ),
    gis_data_types=("raster",),
    read_function=read_gtiff,
    links=_GDAL_LINKS,
)

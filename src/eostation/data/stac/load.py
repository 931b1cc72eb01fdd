"""Load STAC items with ``odc.stac.load`` into the eostation cube convention, and the
``load_stac`` backend function behind the openEO process of the same name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import odc.stac
import pandas as pd
import pystac
import xarray as xr
from odc.geo import geom

from eostation.data.base import LoadRequest
from eostation.data.request import request_area, request_interval
from eostation.errors import ProcessParameterInvalid
from eostation.outbound import OutboundPolicy

from .filters import conditions
from .items import ItemQuery, find_items, prepare_items, solar_days

__all__ = ["LoadOptions", "load_items", "load_stac"]


@dataclass(frozen=True)
class LoadOptions:
    """How pixels are loaded: output grid (``crs``/``resolution``, native when None),
    resampling, chunk size, per-band nodata overrides and scale/offset application."""

    crs: str | int | None = None
    resolution: float | None = None
    resampling: str = "nearest"
    chunk_xy: int = 512
    apply_scale: bool = False
    nodata: Mapping[str, float] = field(default_factory=dict)
    scale_offset: Mapping[str, tuple[float, float]] = field(default_factory=dict)


def _invalid(parameter: str, reason: str, process: str = "load_stac") -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process, parameter=parameter, reason=reason)


def _band_scale(items: Sequence[pystac.Item], key: str) -> tuple[float, float]:
    """``raster:bands`` scale/offset of an asset (``key`` = ``asset`` or ``asset.N``)."""
    asset_key, _, index = key.partition(".")
    for item in items:
        asset = item.assets.get(asset_key)
        if asset is None:
            continue
        bands = asset.extra_fields.get("raster:bands") or []
        i = int(index) - 1 if index.isdigit() else 0
        if i < len(bands):
            return float(bands[i].get("scale", 1.0)), float(bands[i].get("offset", 0.0))
        break
    return 1.0, 0.0


def _bbox4(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    w, s, e, n = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
    return (float(w), float(s), float(e), float(n))


def load_items(
    items: Sequence[pystac.Item],
    bands: Mapping[str, str],
    area: geom.Geometry | None,
    options: LoadOptions,
    collection: str,
) -> xr.DataArray:
    """A lazy ``(t, bands, y, x)`` float32 cube (NaN nodata) of prepared items.

    ``bands`` maps output band names to odc-stac band keys (asset keys, ``asset.N`` or
    ``eo:bands`` names). Items of the same solar day are fused (first valid pixel)."""
    kwargs: dict[str, Any] = {}
    requested = area
    if options.crs is not None:
        kwargs["crs"] = options.crs if isinstance(options.crs, str) else f"EPSG:{options.crs}"
    if options.resolution is not None:
        kwargs["resolution"] = options.resolution
    if area is not None:
        # Clip to where items are, so a generous bbox does not load an ocean of NaN.
        boxes = [geom.box(*_bbox4(i.bbox), 4326) for i in items if i.bbox]
        if boxes:
            covered = geom.unary_union(boxes)
            assert covered is not None
            area = area & covered.to_crs(area.crs) if area.crs is not None else area
        kwargs["geopolygon"] = area
    try:
        ds = odc.stac.load(
            items,
            bands=list(dict.fromkeys(bands.values())),
            groupby="solar_day",
            resampling=options.resampling,
            chunks={"x": options.chunk_xy, "y": options.chunk_xy},
            fail_on_error=True,
            **kwargs,
        )
    except ValueError as exc:
        raise _invalid(
            "bands", f"cannot load {list(bands.values())} from the items: {exc}"
        ) from exc
    layers = []
    for name, key in bands.items():
        var = ds[key]
        nodata = options.nodata.get(name, var.attrs.get("nodata"))
        layer = var.astype(np.float32)
        if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
            layer = layer.where(var != nodata)
        if options.apply_scale:
            scale, offset = options.scale_offset.get(name) or _band_scale(items, key)
            layer = layer * np.float32(scale) + np.float32(offset)
        layers.append(layer.astype(np.float32).rename(name))
    cube = xr.concat(layers, dim=pd.Index(list(bands), name="bands"), coords="minimal")
    cube = cube.rename({"time": "t"}).transpose("t", "bands", "y", "x")
    cube = cube.assign_coords(t=solar_days(cube.t.values))
    cube = cube.chunk({"t": -1, "bands": 1})
    if requested is not None:
        cube = centres_within(cube, requested)
    raster = []
    for name, key in bands.items():
        scale, offset = (1.0, 0.0) if options.apply_scale else _band_scale(items, key)
        raster.append(
            {
                "name": name,
                "nodata": "nan",
                "data_type": "float32",
                "scale": scale,
                "offset": offset,
            }
        )
    cube.name = collection
    cube.attrs = {"collection": collection, "nodata": float("nan"), "raster:bands": raster}
    return cube


def centres_within(cube: xr.DataArray, area: geom.Geometry) -> xr.DataArray:
    """The pixels of ``cube`` whose centres lie in the bounding box of ``area``.

    odc-stac loads every pixel the area touches; openEO loads those whose centre is in
    the extent (see docs/testsuite.md: first edges inclusive, last exclusive; the pixel
    under the centre of an area smaller than a pixel).
    """
    geobox = cube.odc.geobox
    if geobox is None or geobox.crs is None or area.crs is None:
        return cube
    w, s, e, n = area.to_crs(geobox.crs).boundingbox
    x, y = cube["x"].values, cube["y"].values
    cols = np.flatnonzero((x >= w - 1e-9) & (x < e - 1e-9))
    rows = np.flatnonzero((y <= n + 1e-9) & (y > s + 1e-9))
    if not cols.size:
        cols = np.array([int(np.argmin(np.abs(x - (w + e) / 2)))])
    if not rows.size:
        rows = np.array([int(np.argmin(np.abs(y - (s + n) / 2)))])
    return cube.isel(x=slice(cols[0], cols[-1] + 1), y=slice(rows[0], rows[-1] + 1))


def load_stac(
    url: str,
    spatial_extent: tuple[float, float, float, float] | Mapping[str, Any] | None = None,
    temporal_extent: tuple[str | None, str | None] | None = None,
    bands: Sequence[str] | None = None,
    properties: Mapping[str, Any] | None = None,
    *,
    spatial_crs: int | str = 4326,
    collection: str | None = None,
    headers: Mapping[str, str] | None = None,
    options: LoadOptions | None = None,
    outbound: OutboundPolicy | None = None,
) -> xr.DataArray:
    """Load a static STAC catalogue/collection/item (file or URL) or a STAC API collection.

    ``spatial_extent`` is ``(west, south, east, north)`` in ``spatial_crs``, an openEO
    bounding box ``{"west", "south", "east", "north", "crs"}`` or a GeoJSON geometry;
    ``temporal_extent`` a half-open ISO interval; ``bands`` odc-stac band names (asset
    keys or ``eo:bands`` names; all when None); ``properties`` maps a property to a
    condition (see :mod:`eostation.data.stac.filters`). The grid is the items' native one
    unless ``options`` set ``crs``/``resolution``. ``outbound`` guards a user-supplied
    ``url`` (see :func:`~eostation.data.stac.items.find_items`)."""
    bbox: tuple[float, float, float, float] | None = None
    geometry: dict[str, Any] | None = None
    if isinstance(spatial_extent, Mapping) and "west" in spatial_extent:
        e = spatial_extent
        bbox = (e["west"], e["south"], e["east"], e["north"])
        spatial_crs = e.get("crs", spatial_crs)
    elif isinstance(spatial_extent, Mapping):
        geometry = dict(spatial_extent)
    elif spatial_extent is not None:
        bbox = tuple(spatial_extent)  # type: ignore[assignment]
    request = LoadRequest(bbox=bbox, crs=spatial_crs, geometry=geometry, temporal=temporal_extent)
    area = request_area(request)
    start, end = request_interval(temporal_extent)
    query = ItemQuery(
        footprint=area.to_crs(4326) if area is not None else None,
        start=pd.Timestamp(start) if start is not None else None,
        end=pd.Timestamp(end) if end is not None else None,
        conditions=tuple(conditions(properties)),
    )
    found = find_items(url, query, collection=collection, headers=headers, outbound=outbound)
    items = prepare_items(found)
    if not items:
        raise _invalid("url", f"no STAC item of {url} matches the extents and properties.")
    if bands is None:
        meta = odc.stac.extract_collection_metadata(items[0])
        names = list(meta.aliases) or [f"{a}.{i}" if i > 1 else a for a, i in meta.bands]
        bands = names
    return load_items(
        items, {b: b for b in bands}, area, options or LoadOptions(), collection or url
    )

"""Find the STAC items of a load: search a STAC API (pystac-client) or walk a static
catalogue (pystac), then prepare them for ``odc.stac.load``.

Preparation makes items self-describing where a static catalogue is terse: an item
with a single data asset gets the stable key ``data`` (so items whose asset keys are
file names line up), and assets lacking the projection/raster extensions get them from
the file header (one rasterio open per asset, only when missing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pystac
import rasterio
from odc.geo import geom
from pystac_client.exceptions import APIError

from eostation.errors import ProcessParameterInvalid
from eostation.outbound import OutboundPolicy

from .filters import Condition, cql2, query_ext
from .guarded import GuardedStacIO, check_assets

__all__ = ["ItemQuery", "fetch_json", "find_items", "prepare_items"]

_PROJ = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
_RASTER = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
_EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
_SEARCH = ("item-search", "/item-search")


@dataclass(frozen=True)
class ItemQuery:
    """What to look for: a lon/lat footprint, a half-open interval, property conditions."""

    footprint: geom.Geometry | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    conditions: tuple[Condition, ...] = ()


def fetch_json(
    url: str, headers: Mapping[str, str] | None = None, io: GuardedStacIO | None = None
) -> dict[str, Any]:
    """A JSON document from an http(s) URL or a local path (only http(s) through ``io``)."""
    if io is not None:
        try:
            guarded: dict[str, Any] = json.loads(io.request(url, headers=dict(headers or {})))
        except APIError as exc:
            raise ProcessParameterInvalid(
                process="load_stac", parameter="url", reason=f"{url} cannot be read: {exc}"
            ) from None
        return guarded
    if url.startswith(("http://", "https://")):
        response = httpx.get(url, headers=dict(headers or {}), timeout=60, follow_redirects=True)
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc
    path = Path(url.removeprefix("file://"))
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _api_root(
    doc: Mapping[str, Any], url: str, headers: Mapping[str, str], io: GuardedStacIO | None
) -> str | None:
    """The STAC API root serving item search for ``doc`` (None for a static catalogue)."""
    if any(str(c).endswith(_SEARCH) for c in doc.get("conformsTo", [])):
        return url
    if doc.get("type") == "Collection" and url.startswith(("http://", "https://")):
        root = next(
            (link["href"] for link in doc.get("links", []) if link.get("rel") == "root"), None
        )
        if root:
            root_doc = fetch_json(root, headers, io)
            if any(str(c).endswith(_SEARCH) for c in root_doc.get("conformsTo", [])):
                return str(root)
    return None


def _in_time(item: pystac.Item, query: ItemQuery) -> bool:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        return True
    ts = pd.Timestamp(when)
    ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
    return (query.start is None or ts >= query.start) and (query.end is None or ts < query.end)


def _accept(item: pystac.Item, query: ItemQuery) -> bool:
    if not _in_time(item, query):
        return False
    if query.footprint is not None and item.bbox is not None:
        w, s, e, n = item.bbox[:2] + item.bbox[-3:-1] if len(item.bbox) == 6 else item.bbox
        if not query.footprint.intersects(geom.box(w, s, e, n, 4326)):
            return False
    return all(c.accepts(item.properties) for c in query.conditions)


def _iso(ts: pd.Timestamp | None) -> str:
    return ".." if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _search_api(
    root: str,
    collection: str,
    query: ItemQuery,
    headers: Mapping[str, str],
    io: GuardedStacIO | None,
) -> list[pystac.Item]:
    from pystac_client import Client, ConformanceClasses

    client = Client.open(root, headers=dict(headers) or None, stac_io=io)
    kwargs: dict[str, Any] = {"collections": [collection]}
    if query.footprint is not None:
        kwargs["bbox"] = list(query.footprint.boundingbox)
    if query.start is not None or query.end is not None:
        # The API interval is closed; the half-open end is re-checked below.
        kwargs["datetime"] = f"{_iso(query.start)}/{_iso(query.end)}"
    conds = list(query.conditions)
    if client.conforms_to(ConformanceClasses.FILTER) and cql2(conds):
        kwargs.update(filter=cql2(conds), filter_lang="cql2-json")
    elif client.conforms_to(ConformanceClasses.QUERY) and query_ext(conds):
        kwargs["query"] = query_ext(conds)
    search = client.search(**kwargs)
    return [item for item in search.items() if _accept(item, query)]


def _walk_static(
    url: str, doc: Mapping[str, Any], query: ItemQuery, io: GuardedStacIO | None
) -> list[pystac.Item]:
    static = io.static if io is not None else None
    if doc.get("type") == "FeatureCollection":
        items = list(pystac.ItemCollection.from_file(url, stac_io=static))
    elif doc.get("type") == "Feature":
        items = [pystac.Item.from_file(url, stac_io=static)]
    else:
        catalog = pystac.read_file(url, stac_io=static)
        assert isinstance(catalog, pystac.Catalog)
        items = list(catalog.get_items(recursive=True))
    for item in items:
        item.make_asset_hrefs_absolute()
    return [item for item in items if _accept(item, query)]


def find_items(
    url: str,
    query: ItemQuery,
    *,
    collection: str | None = None,
    headers: Mapping[str, str] | None = None,
    outbound: OutboundPolicy | None = None,
    admin_assets: bool = False,
) -> list[pystac.Item]:
    """Items of a STAC API collection (``url`` = API root with ``collection``, or the
    collection's own URL in an API) or of a static catalogue/collection/item collection.

    With ``outbound`` every request and link passes the outbound guard and must be
    http(s), and so must every asset href unless ``admin_assets`` (an admin-configured
    collection may name local files; GDAL's remote reads pass the guarding proxy anyway).
    Without it (an admin's local catalogue) local files are read too."""
    headers = headers or {}
    io = GuardedStacIO(outbound, dict(headers)) if outbound is not None else None
    doc = fetch_json(url, headers, io)
    root = _api_root(doc, url, headers, io)
    if root is not None:
        name = collection or (doc.get("id") if doc.get("type") == "Collection" else None)
        if not name:
            raise ProcessParameterInvalid(
                process="load_stac",
                parameter="url",
                reason=f"{url} is an API root; name a collection.",
            )
        found = _search_api(root, str(name), query, headers, io)
    else:
        found = _walk_static(url, doc, query, io)
    if outbound is not None and not admin_assets:
        check_assets(found, outbound)
    return found


def _probe(asset: pystac.Asset, properties: Mapping[str, Any]) -> None:
    """Add projection and raster metadata from the file header when neither the asset nor
    the item has them (STAC APIs usually put ``proj:*`` in the item properties)."""
    fields = asset.extra_fields
    known = {**properties, **fields}
    if ("proj:epsg" in known or "proj:code" in known or "proj:wkt2" in known) and (
        "proj:transform" in known and "proj:shape" in known
    ):
        return
    with rasterio.open(asset.get_absolute_href() or asset.href) as ds:
        epsg = ds.crs.to_epsg() if ds.crs else None
        if epsg:
            fields["proj:epsg"] = epsg
        elif ds.crs:
            fields["proj:wkt2"] = ds.crs.to_wkt()
        fields["proj:shape"] = [ds.height, ds.width]
        fields["proj:transform"] = list(ds.transform)[:6]
        if "raster:bands" not in fields:
            fields["raster:bands"] = [
                {
                    "data_type": ds.dtypes[i],
                    **({"nodata": ds.nodata} if ds.nodata is not None else {}),
                }
                for i in range(ds.count)
            ]


def prepare_items(items: Sequence[pystac.Item], probe: bool = True) -> list[pystac.Item]:
    """Copies of the items ready for ``odc.stac.load`` (see the module docstring)."""
    out: list[pystac.Item] = []
    for original in items:
        item = original.clone()
        data = [k for k, a in item.assets.items() if "data" in (a.roles or []) or _is_raster(a)]
        if len(data) == 1 and data[0] != "data":
            item.assets["data"] = item.assets.pop(data[0])
            data = ["data"]
        for key in data:
            asset = item.assets[key]
            bands = asset.extra_fields.get("eo:bands")
            if bands:  # drop null fields some writers emit; odc-stac reads names only
                asset.extra_fields["eo:bands"] = [
                    {k: v for k, v in b.items() if v is not None} for b in bands
                ]
            if probe:
                _probe(asset, item.properties)
        for ext in (_PROJ, _RASTER, _EO):
            if ext not in item.stac_extensions:
                item.stac_extensions.append(ext)
        out.append(item)
    return out


def _is_raster(asset: pystac.Asset) -> bool:
    media = (asset.media_type or "").lower()
    return "tiff" in media or "jp2" in media or media.endswith("zarr")


def solar_days(times: np.ndarray) -> np.ndarray:
    """Time labels as days at 00:00 (the cube convention of the demo and file sources)."""
    return np.asarray(times).astype("datetime64[D]").astype("datetime64[ns]")

"""A collection backed by a STAC API or a static catalogue (``type = "stac"``)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from odc.geo import geom

from eostation.data.bands import select_bands
from eostation.data.base import LoadRequest
from eostation.data.config import (
    BandSpec,
    CollectionConfigError,
    StacEntry,
    band_specs,
    parse_entry,
)
from eostation.data.document import collection_document, grid_dimensions, queryables_document
from eostation.data.request import request_area, request_interval
from eostation.errors import ProcessParameterInvalid
from eostation.outbound import OutboundPolicy

from .filters import conditions
from .guarded import GuardedStacIO
from .items import ItemQuery, fetch_json, find_items, prepare_items
from .load import LoadOptions, load_items

__all__ = ["StacCollection", "StacCollectionConfig", "parse_stac_collection"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
log = logging.getLogger("eostation.data.stac")


@dataclass(frozen=True)
class StacCollectionConfig:
    """A validated STAC-backed collection."""

    id: str
    url: str
    collection: str | None
    title: str | None
    description: str | None
    bands: tuple[BandSpec, ...]
    headers: Mapping[str, str]
    options: LoadOptions
    license: str = "proprietary"


def parse_stac_collection(entry: Mapping[str, Any], root: Path) -> StacCollectionConfig:
    """Validate one ``type = "stac"`` entry (a relative ``url`` is a path next to the TOML)."""
    e = parse_entry(entry, StacEntry)
    url = e.url
    if not url.startswith(("http://", "https://")) and not Path(url).is_absolute():
        url = str(root / url)
    bands = band_specs(e, numbered=False)
    options = LoadOptions(
        crs=e.crs,
        resolution=e.resolution,
        resampling=e.resampling,
        chunk_xy=e.chunks,
        apply_scale=e.apply_scale,
        nodata={b.name: b.nodata for b in bands if b.nodata is not None},
        scale_offset={
            b.name: (b.band.scale or 1.0, b.band.offset or 0.0)
            for b in bands
            if b.band.scale is not None or b.band.offset is not None
        },
    )
    return StacCollectionConfig(
        id=e.id,
        url=url,
        collection=e.collection,
        title=e.title,
        description=e.description,
        bands=bands,
        headers=dict(e.headers),
        options=options,
        license=e.license,
    )


class StacCollection:
    """Searches items per load and reads pixels with odc-stac."""

    def __init__(
        self, config: StacCollectionConfig, outbound: OutboundPolicy | None = None
    ) -> None:
        self.config = config
        # Admin-configured URLs pass the same guard as a user's load_stac: a collection
        # document must not make the server reach a host the admin did not allow.
        self.outbound = outbound if outbound is not None else OutboundPolicy()

    @property
    def id(self) -> str:
        """The collection id."""
        return self.config.id

    def _headers(self) -> dict[str, str]:
        """Headers with ``${VAR}`` replaced from the environment at request time."""

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise CollectionConfigError(
                    self.id, "headers", f"environment variable {name} is not set."
                )
            return os.environ[name]

        return {k: _ENV.sub(expand, v) for k, v in self.config.headers.items()}

    @property
    def _collection_url(self) -> str:
        cfg = self.config
        if cfg.collection and cfg.url.startswith(("http://", "https://")):
            return f"{cfg.url.rstrip('/')}/collections/{cfg.collection}"
        return cfg.url

    @property
    def guard(self) -> OutboundPolicy | None:
        """The outbound policy for this collection's URL; None for a local catalogue,
        which is the admin's own file."""
        return self.outbound if self.config.url.startswith(("http://", "https://")) else None

    def _fetch(self, url: str) -> dict[str, Any]:
        headers = self._headers()
        io = GuardedStacIO(self.guard, headers) if self.guard is not None else None
        return fetch_json(url, headers, io)

    @cached_property
    def _remote(self) -> dict[str, Any]:
        """The remote collection document ({} when it cannot be fetched)."""
        try:
            return self._fetch(self._collection_url)
        except Exception as exc:  # unreachable/refused remote: the listing must not fail
            log.warning("collection %s: %s cannot be read: %s", self.id, self._collection_url, exc)
            return {}

    def metadata(self) -> dict[str, Any]:
        """The STAC Collection, extents from the remote collection document."""
        remote, cfg = self._remote, self.config
        extent = remote.get("extent", {})
        bbox = (extent.get("spatial", {}).get("bbox") or [[-180.0, -90.0, 180.0, 90.0]])[0][:4]
        interval = (extent.get("temporal", {}).get("interval") or [[None, None]])[0]
        if interval[0] is None:  # STAC requires an open start to be given; use the epoch
            interval = ["1970-01-01T00:00:00Z", interval[1]]
        grid = None
        crs, res = cfg.options.crs, cfg.options.resolution
        if crs is not None and res is not None:
            w, s, e, n = (float(v) for v in bbox)
            box = geom.box(w, s, e, n, 4326).to_crs(crs if isinstance(crs, str) else f"EPSG:{crs}")
            epsg = box.crs.epsg if box.crs is not None else None
            if epsg is not None:
                grid = {"epsg": epsg, "step": (res, res), "extent": tuple(box.boundingbox)}
        bbox4326 = [float(v) for v in bbox]
        return collection_document(
            collection_id=cfg.id,
            title=cfg.title or remote.get("title") or cfg.id,
            description=cfg.description
            or remote.get("description")
            or f"STAC collection at {cfg.url}",
            keywords=remote.get("keywords", []),
            license=remote.get("license", cfg.license),
            bands=[b.band for b in cfg.bands],
            bbox4326=bbox4326,
            interval=(interval[0], interval[1]),
            spatial=grid_dimensions(bbox4326, grid),
            extra={"eostation:stac": {"url": cfg.url, "collection": cfg.collection}},
        )

    def queryables(self) -> dict[str, Any]:
        """The remote queryables when the API has them, else the summarised properties."""
        props: dict[str, Any] = {}
        if self.config.url.startswith(("http://", "https://")):
            try:
                props = self._fetch(self._collection_url + "/queryables").get("properties", {})
            except Exception:  # not every API offers queryables
                props = {}
        if not props:
            summaries = self._remote.get("summaries", {})
            props = {k: {"type": "number"} for k in summaries if k == "eo:cloud_cover"}
            props.setdefault("eo:cloud_cover", {"type": "number", "minimum": 0, "maximum": 100})
        return queryables_document(self.id, props, open_ended=True)

    def load(self, request: LoadRequest) -> xr.DataArray:
        """Search the items of the request and load them as a lazy cube."""
        if request.options:
            raise ProcessParameterInvalid(
                process="load_collection",
                parameter="featureflags",
                reason=f"unsupported load options {sorted(request.options)} for {self.id}.",
            )
        chosen = select_bands([s.band for s in self.config.bands], request.bands)
        sources = {s.name: str(s.source) for s in self.config.bands}
        area = request_area(request)
        start, end = request_interval(request.temporal)
        query = ItemQuery(
            footprint=area.to_crs(4326) if area is not None else None,
            start=pd.Timestamp(start) if start is not None else None,
            end=pd.Timestamp(end) if end is not None else None,
            conditions=tuple(conditions(request.properties)),
        )
        headers = self._headers()
        found = find_items(
            self.config.url,
            query,
            collection=self.config.collection,
            headers=headers,
            outbound=self.guard,
            admin_assets=True,
        )
        if not found:
            raise ProcessParameterInvalid(
                process="load_collection",
                parameter="temporal_extent",
                reason=f"{self.id} has no item matching the extents and properties.",
            )
        items = prepare_items(found)
        return load_items(
            items, {b.name: sources[b.name] for b in chosen}, area, self.config.options, self.id
        )

"""Builds and caches product zips; knows their size before they are built.

Demo-world products are laid out by a writer per kind (:mod:`.olci`, :mod:`.s5p`, …);
other items (``files`` collections, job results) are zips of their files, found by a
resolver that the API layer hands in.


A package's size comes from a template: the same product layout written with zeros
(same shapes, same name lengths), zipped with stored entries. Data values do not change
the size of uncompressed netCDF-4 variables or of stored zip entries, so one template
per (kind, shape, name length) gives ``ContentLength`` for every product like it.
Built zips live in ``<cache dir>/<Id>.zip`` with their MD5/BLAKE3 in ``<Id>.json``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from eostation.data.base import LoadRequest
from eostation.errors import FeatureUnsupported

from ..entity import PackageInfo, product_id
from .dem import write_dem
from .lst import LST_BANDS, write_lst
from .olci import write_olci
from .plan import ProductPlan, plan_of
from .s1 import write_s1
from .s2 import RESOLUTIONS, write_s2
from .s5p import bands_of, write_s5p
from .slstr import SLSTR_AN, SLSTR_IN, write_slstr
from .syn import FLAGS, SYN_BANDS, write_syn
from .zipped import digests, stored_zip_size, zip_files, zip_folder

__all__ = ["ProductPackages"]

log = logging.getLogger("eostation.catalog.odata")

#: The files of a non-demo item (``files`` collections, job results) as (zip entry, path).
FileResolver = Callable[[Mapping[str, Any]], list[tuple[str, Path]] | None]
Writer = Callable[[Path, ProductPlan, Any, tuple[int, int]], None]
_WRITERS: dict[str, Writer] = {
    "s5p": write_s5p,
    "olci": write_olci,
    "syn": write_syn,
    "s1": write_s1,
    "s2": write_s2,
    "slstr": write_slstr,
    "dem": write_dem,
    "lst": write_lst,
}
#: Bands rendered per kind (S5P: by product type).
_BANDS: dict[str, list[str]] = {
    "olci": [f"B{i:02d}" for i in range(1, 22)],
    "s1": ["VV", "VH"],
    "syn": [*SYN_BANDS, FLAGS],
    "slstr": [*SLSTR_AN, *SLSTR_IN],
    "dem": ["DEM"],
    "lst": LST_BANDS,
}


class ProductPackages:
    """The zips of demo-world products, built on first download and cached on disk."""

    def __init__(
        self,
        collections: Any,
        cache_dir: Path,
        max_pixels: int | None,
        files: FileResolver | None = None,
    ) -> None:
        self._collections = collections  # eostation.data.registry.CollectionRegistry
        self._files = files
        self._dir = cache_dir
        self._max_pixels = max_pixels
        self._sizes: dict[tuple[object, ...], int] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def plan(self, item: Mapping[str, Any]) -> ProductPlan | None:
        """The build plan of an item's product (None: no package for this collection)."""
        collection = str(item.get("properties", {}).get("eostation:collection", ""))
        if collection not in self._collections:
            return None
        source = self._collections.get(collection)
        dims = source.metadata()["cube:dimensions"]
        step = (dims["x"].get("step"), dims["y"].get("step"))
        if not all(step):
            # Projected per-request grids (UTM at the finest gsd): about that many degrees.
            gsd = min(b.gsd for b in source.bands if b.gsd) / 111_320.0
            step = (gsd, gsd)
        plan = plan_of(item, step, self._max_pixels)
        if plan is not None and plan.kind == "slstr":
            # Two grids: the writer gets the 500 m one as its shape, the 1 km one here.
            thermal = [b for b in source.bands if b.name in SLSTR_IN]
            in_shape = tuple(int(n) for n in source.grid(plan.bbox, thermal).shape)
            plan = replace(plan, extra={**plan.extra, "in_shape": in_shape})
        return plan

    def info(self, item: Mapping[str, Any]) -> PackageInfo:
        """Size (always) and checksums (once built) of the item's package."""
        plan = self.plan(item)
        entries = None if plan is not None else self._entries(item)
        if plan is None and entries is None:
            return PackageInfo(content_length=0)
        pid = product_id(str(item.get("collection", "")), str(item["id"]))
        built = self._built(pid, entries)
        if built is not None:
            return PackageInfo(built["size"], built["md5"], built["blake3"], built["date"])
        if plan is not None:
            return PackageInfo(content_length=self._template_size(plan))
        assert entries is not None
        return PackageInfo(content_length=stored_zip_size(_sizes(entries)) or 0)

    def path(self, item: Mapping[str, Any]) -> Path:
        """The cached zip of the item's product, built now if needed."""
        plan = self.plan(item)
        entries = None if plan is not None else self._entries(item)
        if plan is None and entries is not None:
            return self._zip_entries(item, entries)
        if plan is None:
            collection = item.get("properties", {}).get("eostation:collection") or item.get(
                "collection"
            )
            raise FeatureUnsupported(
                feature=f"downloading products of {collection} (not packaged yet, docs/odata.md)"
            )
        pid = product_id(str(item.get("collection", "")), str(item["id"]))
        target = self._dir / f"{pid}.zip"
        with self._lock:
            lock = self._building.setdefault(pid, threading.Lock())
        with lock:
            if self._built(pid, None) is None:
                self._build(plan, target)
        return target

    # -- internals --------------------------------------------------------------------

    def _entries(self, item: Mapping[str, Any]) -> list[tuple[str, Path]] | None:
        entries = self._files(item) if self._files else None
        return [(n, p) for n, p in entries if p.is_file()] if entries else None

    def _built(self, pid: str, entries: list[tuple[str, Path]] | None) -> dict[str, Any] | None:
        """The record of a built zip, if it is there and (for files) still current."""
        meta = self._dir / f"{pid}.json"
        if not meta.is_file() or not (self._dir / f"{pid}.zip").is_file():
            return None
        built: dict[str, Any] = json.loads(meta.read_text())
        if entries is not None and built.get("files") != _signature(entries):
            return None  # a file changed since: rebuild
        return built

    def _zip_entries(self, item: Mapping[str, Any], entries: list[tuple[str, Path]]) -> Path:
        """The zip of a non-demo item's files, cached until one of them changes."""
        pid = product_id(str(item.get("collection", "")), str(item["id"]))
        target = self._dir / f"{pid}.zip"
        with self._lock:
            lock = self._building.setdefault(pid, threading.Lock())
        with lock:
            if self._built(pid, entries) is None:
                self._dir.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix="odata-build-", dir=self._dir) as tmp:
                    partial = Path(tmp) / "product.zip"
                    size = zip_files(entries, partial)
                    md5, b3 = digests(partial)
                    partial.replace(target)
                self._record(target, size, md5, b3, str(item["id"]), _signature(entries))
        return target

    def _record(
        self, target: Path, size: int, md5: str, b3: str, name: str, files: Any = None
    ) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        meta = {"size": size, "md5": md5, "blake3": b3, "date": stamp, "name": name}
        if files is not None:
            meta["files"] = files
        tmp_meta = target.with_suffix(".json.tmp")
        tmp_meta.write_text(json.dumps(meta))
        tmp_meta.replace(target.with_suffix(".json"))

    def _bands(self, plan: ProductPlan) -> list[str]:
        if plan.kind == "s5p":
            return bands_of(plan.product_type)
        if plan.kind == "s2":
            return [b for names in RESOLUTIONS.values() for b in names]
        return _BANDS[plan.kind]

    def _shape(self, plan: ProductPlan) -> tuple[int, int]:
        if plan.kind == "s2":
            return int(plan.extra["side"]), int(plan.extra["side"])
        source = self._collections.get(plan.collection)
        names = SLSTR_AN if plan.kind == "slstr" else self._bands(plan)
        bands = [b for b in source.bands if b.name in names]
        ny, nx = source.grid(plan.bbox, bands).shape
        return int(ny), int(nx)

    def _template_size(self, plan: ProductPlan) -> int:
        shape = self._shape(plan)
        key = (
            plan.kind,
            shape,
            plan.extra.get("in_shape"),
            len(plan.name),
            tuple(self._bands(plan)),
        )
        with self._lock:
            if key in self._sizes:
                return self._sizes[key]
        with tempfile.TemporaryDirectory(prefix="odata-template-") as tmp:
            folder = Path(tmp) / "product"
            folder.mkdir()
            _WRITERS[plan.kind](folder, plan, None, shape)
            size = zip_folder(folder, Path(tmp) / "template.zip")
        with self._lock:
            self._sizes[key] = size
        return size

    def _render(self, plan: ProductPlan) -> Any:
        source = self._collections.get(plan.collection)
        if plan.kind == "s2":
            return render_s2(source, plan)
        day = date.fromisoformat(plan.day)
        temporal = (day.isoformat(), (day + timedelta(days=1)).isoformat())
        if plan.kind == "slstr":  # one load per grid, as the product keeps them apart
            return {
                grid: source.load(
                    LoadRequest(bbox=plan.bbox, temporal=temporal, bands=list(names))
                ).compute()
                for grid, names in (("an", SLSTR_AN), ("in", SLSTR_IN))
            }
        request = LoadRequest(bbox=plan.bbox, temporal=temporal, bands=self._bands(plan))
        return source.load(request).compute()  # type: ignore[no-any-return]

    def _build(self, plan: ProductPlan, target: Path) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        cube = self._render(plan)
        by_grid = plan.kind in ("s2", "slstr")
        shape = self._shape(plan) if by_grid else (cube.sizes["y"], cube.sizes["x"])
        with tempfile.TemporaryDirectory(prefix="odata-build-", dir=self._dir) as tmp:
            folder = Path(tmp) / "product"
            folder.mkdir()
            _WRITERS[plan.kind](folder, plan, cube, shape)
            partial = Path(tmp) / "product.zip"
            size = zip_folder(folder, partial)
            md5, b3 = digests(partial)
            partial.replace(target)
        expected = self._template_size(plan)
        if size != expected:  # would make ContentLength lie: a bug in a writer
            log.error("package %s is %d bytes, its template %d", target.name, size, expected)
        self._record(target, size, md5, b3, plan.name)


def _sizes(entries: list[tuple[str, Path]]) -> list[tuple[str, int]]:
    return [(name, path.stat().st_size) for name, path in entries]


def _signature(entries: list[tuple[str, Path]]) -> list[list[Any]]:
    return [[name, path.stat().st_size, path.stat().st_mtime_ns] for name, path in entries]


def render_s2(source: Any, plan: ProductPlan) -> dict[str, Any]:
    """Each band of an S2 window on the tile's own lattice at its resolution.

    Rendered as the catalogue's COG assets are (``source.render`` on a window of the
    global lattice), so pixel values are those of ``load_collection`` at those pixels,
    plus the ``BOA_ADD_OFFSET`` that a real product of that date stores in its
    reflectance DN (``load_collection`` serves harmonised values, as CDSE's openEO does).
    """
    from eostation.data.demo.grid import Grid
    from eostation.data.demo.sentinel2 import boa_add_offset

    side, epsg = int(plan.extra["side"]), int(plan.extra["epsg"])
    ulx, uly = float(plan.extra["ulx"]), float(plan.extra["uly"])
    day = (date.fromisoformat(plan.day) - date(1970, 1, 1)).days
    acquisitions = source.acquisitions(plan.bbox, day, day + 1)
    if not acquisitions:
        raise FeatureUnsupported(feature=f"a product of {plan.collection} on {plan.day} here")
    out: dict[str, Any] = {}
    by_name = {b.name: b for b in source.bands}
    for res, names in RESOLUTIONS.items():
        n_px = side * 10 // res
        grid = Grid(
            epsg, res, res, round(ulx / res), round(-uly / res), n_px, n_px, _NODE_STEP[res]
        )
        tile = grid.tile(0, n_px, 0, n_px)
        for name in names:
            band = by_name[name]
            out[name] = source.render(tile, band, acquisitions[:1], {})[0]
            if band.wavelength is not None:
                out[name] += boa_add_offset(day)
    return out


#: Node lattice per resolution: the demo's 10 m nodes, ~160 m apart (as the catalogue's assets).
_NODE_STEP = {10: 16, 20: 8, 60: 4}

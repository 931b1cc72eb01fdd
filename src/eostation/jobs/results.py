"""Where job results live, how they are published atomically, described as STAC and signed.

Layout under the data dir::

    jobs/<job_id>/.tmp-<token>/   a run in progress (never served)
    jobs/<job_id>/r-<token>/      a finished run's files plus ``job-results.json``

A run writes into its temporary directory; on success the directory is renamed to
its final name (atomic on one filesystem) and only then recorded in the job row, so a
crash at any point leaves either the old results or the new ones, never a mix.

Download links carry ``expires`` and an HMAC-SHA256 signature over the job id, file
name, expiry, the run directory and the owner's account state (key:
``Settings.signing_key()``); they work without a bearer token, and die when the job
is run again or its owner's account is removed or gets a new password.

The results document is a STAC 1.0.0 Collection whose top-level ``assets`` the openEO
clients download; it links (``rel="item"``) one STAC Item per date (:func:`result_items`:
the files of one date; undated files, such as one netCDF of the whole cube, form an item
dated when the job finished) so that ``pystac`` and ``odc.stac.load`` find them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eostation.formats.output import OutputFile
from eostation.jobs.model import Job

__all__ = [
    "METADATA_FILE",
    "ResultLayout",
    "Signer",
    "asset_records",
    "item_ids",
    "result_items",
    "stac_results",
    "zip_stores",
]

METADATA_FILE = "job-results.json"
STAC_VERSION = "1.0.0"
_DATE_PART = re.compile(r"_\d{4}-\d{2}-\d{2}\S*$")
_EXTENSIONS = {
    "eo:": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "file:": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "proj:": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "raster:": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
}


class ResultLayout:
    """Result directories of all jobs under ``root`` (``<data dir>/jobs``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_id: str) -> Path:
        """The directory that holds everything of one job."""
        return self.root / job_id

    def new_tmp(self, job_id: str) -> Path:
        """A fresh temporary directory for one run."""
        path = self.job_dir(job_id) / f".tmp-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    def publish(self, tmp: Path, metadata: dict[str, Any]) -> Path:
        """Write the metadata file and rename ``tmp`` to its final name; returns it."""
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=1, default=str))
        final = tmp.with_name("r-" + tmp.name.removeprefix(".tmp-"))
        tmp.rename(final)
        return final

    def remove(self, path: str | Path | None) -> None:
        """Delete one run's directory (missing is fine)."""
        if path:
            shutil.rmtree(path, ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        """Delete every file of a job."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def clean_unpublished(self, job_id: str, *, keep: str | None) -> list[Path]:
        """Delete run directories of a job other than ``keep`` (its recorded results).

        Besides ``.tmp-*`` this removes ``r-*`` directories that were renamed into place
        but never recorded (a crash between the rename and the database update); returns
        what was removed.
        """
        kept = Path(keep).resolve() if keep else None
        removed = []
        for pattern in (".tmp-*", "r-*"):
            for path in self.job_dir(job_id).glob(pattern):
                if path.is_dir() and path.resolve() != kept:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
        return removed

    def file(self, job: Job, name: str) -> Path | None:
        """The published file ``name`` of ``job``, or None (never a path outside its dir)."""
        if not job.result_dir or not job.results or name not in job.results:
            return None
        base = Path(job.result_dir)
        path = base / name
        if path.parent != base or not path.is_file():
            return None
        return path

    def local_dir(self, job: Job) -> Path:
        """The directory of the published files of ``job`` (for ``load_result``)."""
        return Path(job.result_dir or "")


def zip_stores(files: Iterable[OutputFile]) -> list[OutputFile]:
    """``files`` with every directory (a Zarr store) replaced by one ZIP file.

    Assets are downloaded one URL each, so a store of many files becomes one asset
    ``<name>.zip``. Its entries are the store's own paths (``zarr.json`` at the top),
    uncompressed (the chunks already are), so ``zarr.storage.ZipStore`` and
    ``xarray.open_zarr`` read it in place, without unpacking.
    """
    out: list[OutputFile] = []
    for f in files:
        if not f.path.is_dir():
            out.append(f)
            continue
        target = f.path.with_name(f.path.name + ".zip")
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            for path in sorted(p for p in f.path.rglob("*") if p.is_file()):
                zf.write(path, path.relative_to(f.path).as_posix())
        shutil.rmtree(f.path)
        title = f"{f.title or f.name} (Zarr store as ZIP: open with zarr.storage.ZipStore)"
        out.append(replace(f, path=target, media_type="application/zip", title=title))
    return out


def asset_records(files: Iterable[OutputFile]) -> dict[str, Any]:
    """STAC assets (``href`` = file name, plus ``file:size``) keyed by file name."""
    out: dict[str, Any] = {}
    for f in files:
        asset = f.stac_asset()
        size = (
            f.path.stat().st_size
            if f.path.is_file()
            else sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file())
        )
        asset["file:size"] = size
        out[f.name] = asset
    return out


@dataclass(frozen=True)
class Signer:
    """Signs and checks expiring download links."""

    key: bytes
    ttl_seconds: int

    def _digest(self, job_id: str, name: str, expires: int, bound_to: str) -> str:
        msg = f"{job_id}\n{name}\n{expires}\n{bound_to}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()[:40]

    def sign(
        self, job_id: str, name: str, bound_to: str = "", now: float | None = None
    ) -> tuple[int, str]:
        """``(expires, signature)`` for a link to one result file.

        ``bound_to`` is whatever must stay unchanged for the link to keep working (the
        run that produced the file, the owner's account): change it and the link dies.
        """
        expires = int((now or time.time()) + self.ttl_seconds)
        return expires, self._digest(job_id, name, expires, bound_to)

    def valid(
        self, job_id: str, name: str, expires: int, signature: str, bound_to: str = ""
    ) -> bool:
        """Whether the signature matches (expiry is checked separately)."""
        return hmac.compare_digest(self._digest(job_id, name, expires, bound_to), signature)


def _union_bbox(assets: Iterable[dict[str, Any]]) -> list[float] | None:
    boxes = [a["bbox"] for a in assets if isinstance(a.get("bbox"), list)]
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def stac_results(
    job: Job,
    href: Callable[[str], str],
    *,
    self_url: str,
    item_url: Callable[[str], str] = lambda item_id: item_id,
    expires: str | None = None,
) -> dict[str, Any]:
    """The ``GET /jobs/{id}/results`` document: a STAC Collection with top-level assets.

    ``href(name)`` turns a file name into its signed download URL; ``item_url(id)`` gives
    the URL of each item (:func:`result_items`), linked with ``rel="item"``. Only data
    files are assets; the metadata file stays out so that a single-file result has one
    asset.
    """
    stored = job.results or {}
    assets = {name: {**_asset_1_0(asset), "href": href(name)} for name, asset in stored.items()}
    bbox = _union_bbox(stored.values())
    times = sorted(a["datetime"] for a in stored.values() if a.get("datetime"))
    interval = [times[0], times[-1]] if times else [None, None]
    doc: dict[str, Any] = {
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions_used(assets.values()),
        "type": "Collection",
        "id": job.id,
        "title": job.title or f"Results of batch job {job.id}",
        "description": job.description or f"Results of openEO batch job {job.id}.",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [bbox or [-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [interval]},
        },
        "assets": assets,
        "openeo:status": job.status.value,
        "links": [
            {"rel": "self", "href": self_url, "type": "application/json"},
            *(
                {"rel": "item", "href": item_url(i), "type": "application/geo+json"}
                for i in item_ids(job)
            ),
        ],
    }
    if job.finished is not None:
        doc["updated"] = job.finished.isoformat().replace("+00:00", "Z")
    if expires:
        doc["expires"] = expires
    if job.usage:
        doc["usage"] = job.usage
    if job.costs is not None:
        doc["costs"] = job.costs
    return doc


def _asset_1_0(asset: dict[str, Any]) -> dict[str, Any]:
    """An asset record in STAC 1.0.0 terms (``eo:bands``, not STAC 1.1's ``bands``)."""
    return {k: v for k, v in asset.items() if k != "bands"}


def _extensions_used(*documents: Iterable[dict[str, Any]] | dict[str, Any]) -> list[str]:
    """The extension schema URLs whose field prefixes occur in ``documents`` (keys only)."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                for prefix, url in _EXTENSIONS.items():
                    if str(key).startswith(prefix):
                        found.add(url)
                visit(item)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif not isinstance(value, str | int | float | bool) and value is not None:
            visit(list(value))

    for document in documents:
        visit(document)
    return sorted(found)


def _groups(job: Job) -> dict[str, list[str]]:
    """Item id -> the names of its files: one item per date, undated files together."""
    by_date: dict[str | None, list[str]] = {}
    for name, asset in sorted((job.results or {}).items()):
        by_date.setdefault(asset.get("datetime"), []).append(name)
    groups: dict[str, list[str]] = {}
    for names in by_date.values():
        item_id = Path(names[0]).stem.split(".")[0]
        while item_id in groups:
            item_id += "_"
        groups[item_id] = names
    return groups


def item_ids(job: Job) -> list[str]:
    """The ids of the STAC Items of a finished job's results (see :func:`result_items`)."""
    return list(_groups(job))


def result_items(
    job: Job,
    href: Callable[[str], str] = lambda name: name,
    *,
    item_url: Callable[[str], str] | None = None,
    collection_url: str | None = None,
) -> list[dict[str, Any]]:
    """The STAC 1.0.0 Items of a finished job: one per date, with that date's files.

    An item's id is the stem of its first file (``openEO_2022-06-01Z``; ``openEO`` for
    undated files), unique within the job; its asset key is the same in every item
    (``openEO``); ``collection`` (the job id) is set along with ``collection_url``. Files
    without a date (one netCDF of the whole cube, JSON) form one item whose ``datetime``
    is when the job finished. Assets carry ``eo:bands``, ``raster:bands`` (with statistics for
    GeoTIFFs), ``proj:*`` and ``file:size``; ``proj:*`` shared by all assets of an item
    also go into its properties. The extensions used are declared.

    ``href(name)`` makes each asset's href: by default the file name, a path relative to
    the job's result directory (the API passes signed download URLs). ``item_url(id)``
    and ``collection_url`` add ``self``/``collection``/``parent`` links when given.
    """
    stored = job.results or {}
    finished = job.finished.isoformat().replace("+00:00", "Z") if job.finished else None
    items: list[dict[str, Any]] = []
    for item_id, names in _groups(job).items():
        assets: dict[str, Any] = {}
        for n in names:
            key = _asset_key(n)
            while key in assets:
                key += "_"
            fields = _asset_1_0(stored[n]).items()
            assets[key] = {k: v for k, v in fields if k not in ("datetime", "bbox")}
            assets[key]["href"] = href(n)
        first = stored[names[0]]
        bbox = _union_bbox(stored[n] for n in names)
        properties: dict[str, Any] = {"datetime": first.get("datetime") or finished}
        for key in ("proj:epsg", "proj:shape", "proj:transform"):
            values = [stored[n].get(key) for n in names]
            if values[0] is not None and all(v == values[0] for v in values):
                properties[key] = values[0]
        links: list[dict[str, Any]] = []
        if item_url is not None:
            links.append({"rel": "self", "href": item_url(item_id), "type": "application/geo+json"})
        if collection_url is not None:
            links += [
                {"rel": rel, "href": collection_url, "type": "application/json"}
                for rel in ("collection", "parent")
            ]
        item: dict[str, Any] = {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": _extensions_used(assets, properties),
            "id": item_id,
            "geometry": _polygon(bbox) if bbox else None,
            "properties": properties,
            "assets": assets,
            "links": links,
        }
        if bbox:
            item["bbox"] = bbox
        if collection_url is not None:  # STAC requires the link along with the field
            item["collection"] = job.id
        items.append(item)
    return items


def _asset_key(name: str) -> str:
    """An item's asset key: the file name without date and suffix (``openEO``), the same
    in every item, so that ``odc.stac.load`` sees one asset across dates."""
    return _DATE_PART.sub("", name.split(".")[0]) or "data"


def _polygon(bbox: list[float]) -> dict[str, Any]:
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}

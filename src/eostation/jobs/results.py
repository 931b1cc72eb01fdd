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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eostation.formats.output import OutputFile
from eostation.jobs.model import Job

__all__ = [
    "METADATA_FILE",
    "ResultLayout",
    "Signer",
    "asset_records",
    "stac_results",
]

METADATA_FILE = "job-results.json"


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
    expires: str | None = None,
) -> dict[str, Any]:
    """The ``GET /jobs/{id}/results`` document: a STAC Collection with top-level assets.

    ``href(name)`` turns a file name into its signed download URL. Only data files are
    assets; the metadata file stays out so that a single-file result has one asset.
    """
    stored = job.results or {}
    assets = {name: {**asset, "href": href(name)} for name, asset in stored.items()}
    bbox = _union_bbox(stored.values())
    times = sorted(a["datetime"] for a in stored.values() if a.get("datetime"))
    interval = [times[0], times[-1]] if times else [None, None]
    doc: dict[str, Any] = {
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/file/v2.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        ],
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
        "links": [{"rel": "self", "href": self_url, "type": "application/json"}],
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

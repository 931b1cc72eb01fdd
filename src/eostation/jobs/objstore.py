"""Job results on object storage (any fsspec URL, e.g. ``s3://bucket/prefix``).

Layout under ``storage.results_url``::

    <url>/<job_id>/r-<token>/<files>               uploaded first
    <url>/<job_id>/r-<token>/job-results.json      the manifest, uploaded last

An object store cannot rename a directory atomically, so a run's files go to their
final prefix and the manifest goes last: a run without a manifest is unfinished and
never served. Only then is the run recorded in the job row, so readers see either the
previous results or the new ones. Writers need local files, so a run is written into a
local staging directory (``<data dir>/jobs/<job_id>/.tmp-*``) and uploaded when it is
complete. Uploads and deletes are retried for ``storage.retry_seconds``; after that the
job fails with the reason and the partial upload is removed. That budget is ours alone:
on S3 the filesystem makes one attempt per call (botocore's and s3fs's own retries off,
connect timeout bounded, :func:`single_attempt_options`), so a 1 s budget ends after
about 1 s plus one attempt, not after the 20-40 s of the libraries' retries.

Downloads: a replica copies a file once into its cache (``<data dir>/result-cache``,
keyed by the run's token, so a cached file never goes stale) after checking that the
run's manifest lists it, and serves it from there. Every replica therefore serves every
signed link; the store stays the only shared state. Writes go to the operator's
configured store only, never to a URL from a request, so they bypass the outbound guard.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import fsspec

from eostation.config import Settings
from eostation.errors import StorageUnavailable
from eostation.jobs.model import Job
from eostation.jobs.results import METADATA_FILE, ResultLayout

__all__ = ["ObjectResultLayout", "ResultStorage", "result_storage", "single_attempt_options"]

log = logging.getLogger("eostation.jobs.objstore")

T = TypeVar("T")
_RETRY_AFTER = 10.0
# Connecting to a store that is up takes milliseconds; one that does not answer within this
# is treated as down, and the retry budget decides what happens next.
_CONNECT_SECONDS = 5.0
# A read waits for the store's answer to one request (a part of an upload at most).
_READ_SECONDS = 60.0


def single_attempt_options(
    protocol: str, options: dict[str, Any] | None, retry_seconds: float
) -> dict[str, Any]:
    """fsspec options making each call one bounded attempt, so that our budget decides.

    Only S3 (s3fs on botocore) is changed; what the operator set explicitly is kept.

    Args:
        protocol: The URL's protocol (``s3``, ``gs``, ``file`` …).
        options: The configured storage options.
        retry_seconds: The retry budget; one connect attempt never exceeds it.

    Returns:
        The options to open the filesystem with.
    """
    merged = dict(options or {})
    if protocol not in ("s3", "s3a"):
        return merged
    config = dict(merged.get("config_kwargs") or {})
    config.setdefault("retries", {"total_max_attempts": 1})
    config.setdefault("connect_timeout", max(0.5, min(_CONNECT_SECONDS, retry_seconds)))
    config.setdefault("read_timeout", _READ_SECONDS)
    merged["config_kwargs"] = config
    return merged


class ResultStorage(Protocol):
    """Where runs write their results and the API finds them (local dir or object store)."""

    def new_tmp(self, job_id: str) -> Path:
        """A fresh local directory for one run's output files."""

    def publish(self, tmp: Path, metadata: dict[str, Any]) -> str | Path:
        """Make the run in ``tmp`` visible, manifest last; returns where it now lives."""

    def remove(self, path: str | Path | None) -> None:
        """Delete one run (published or staged; missing is fine)."""

    def remove_job(self, job_id: str) -> None:
        """Delete every file of a job."""

    def clean_unpublished(self, job_id: str, *, keep: str | None) -> list[Any]:
        """Delete the runs of a job other than ``keep``; returns what was removed."""

    def file(self, job: Job, name: str) -> Path | None:
        """A local path of the published file ``name`` of ``job``, or None."""

    def local_dir(self, job: Job) -> Path:
        """A local directory holding all published files of a finished ``job``."""


def result_storage(settings: Settings) -> ResultStorage:
    """The result storage the settings name: ``<data dir>/jobs``, a local path, or a store."""
    url = settings.storage.results_url
    if not url:
        return ResultLayout(settings.data_dir / "jobs")
    if url.startswith("file://"):
        # A local (or network) file system renames atomically: no manifest protocol needed.
        return ResultLayout(Path(url.removeprefix("file://")))
    return ObjectResultLayout(
        url,
        settings.storage.options,
        staging=settings.data_dir / "jobs",
        cache=settings.data_dir / "result-cache",
        retry_seconds=settings.storage.retry_seconds,
    )


class ObjectResultLayout:
    """Job results under an fsspec URL, published with a manifest written last."""

    def __init__(
        self,
        url: str,
        options: dict[str, Any] | None = None,
        *,
        staging: Path,
        cache: Path,
        retry_seconds: float = 30.0,
    ) -> None:
        self.protocol = url.split("://", 1)[0]
        self.fs, root = fsspec.core.url_to_fs(
            url, **single_attempt_options(self.protocol, options, retry_seconds)
        )
        if self.protocol in ("s3", "s3a"):
            # s3fs retries each call 5 times on top of botocore (a class default, no option).
            self.fs.retries = 1
        self.root = str(root).rstrip("/")
        self.staging = staging
        self.cache = cache
        self.retry_seconds = retry_seconds

    # -- paths --------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.protocol}://{path}"

    def _path(self, url: str) -> str:
        return url.split("://", 1)[1] if "://" in url else url

    def _job_root(self, job_id: str) -> str:
        return f"{self.root}/{job_id}"

    def _retry(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action``, retrying for ``retry_seconds``; then ``StorageUnavailable``."""
        deadline = time.monotonic() + self.retry_seconds
        wait = 0.25
        while True:
            try:
                return action()
            except Exception as exc:
                if time.monotonic() + wait > deadline:
                    raise StorageUnavailable(
                        reason=f"{what} failed for {self.retry_seconds:g} s: {exc}",
                        retry_after=_RETRY_AFTER,
                    ) from exc
                log.warning("%s failed (%s); retrying in %.2f s", what, exc, wait)
                time.sleep(wait)
                wait = min(wait * 2, 4.0)

    # -- writing ------------------------------------------------------------------------

    def new_tmp(self, job_id: str) -> Path:
        """A fresh local staging directory for one run."""
        path = self.staging / job_id / f".tmp-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    def publish(self, tmp: Path, metadata: dict[str, Any]) -> str:
        """Upload the files of ``tmp``, then the manifest; returns the run's URL.

        On failure (after retrying) the partial upload is removed and
        ``StorageUnavailable`` says why; nothing of the run is ever served.
        """
        run = f"{self._job_root(tmp.parent.name)}/r-{tmp.name.removeprefix('.tmp-')}"
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        try:
            for path in files:
                target = f"{run}/{path.relative_to(tmp).as_posix()}"
                self._retry(f"upload of {path.name}", functools.partial(self._put, path, target))
            manifest = json.dumps(metadata, indent=1, default=str).encode()
            self._retry(
                "upload of the manifest",
                lambda: self.fs.pipe_file(f"{run}/{METADATA_FILE}", manifest),
            )
        except StorageUnavailable:
            self._forget(run)
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        return self._url(run)

    def _put(self, source: Path, target: str) -> None:
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)  # a no-op on object stores
        self.fs.put_file(str(source), target)

    def _forget(self, run: str) -> None:
        """Delete a run's objects, best effort (a later clean-up catches what is left)."""
        try:
            self._retry(f"deletion of {run}", lambda: self._rm(run))
        except StorageUnavailable:
            log.warning("could not delete %s; it is removed by a later clean-up", run)

    def _rm(self, path: str) -> None:
        self.fs.invalidate_cache(path)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def remove(self, path: str | Path | None) -> None:
        """Delete one run: a published URL, or a local staging directory."""
        if not path:
            return
        if isinstance(path, str) and "://" in path:
            run = self._path(path)
            self._forget(run)
            shutil.rmtree(
                self.cache / run.rsplit("/", 2)[-2] / run.rsplit("/", 1)[-1], ignore_errors=True
            )
        else:
            shutil.rmtree(path, ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        """Delete every object, staging directory and cached file of a job."""
        self._forget(self._job_root(job_id))
        shutil.rmtree(self.staging / job_id, ignore_errors=True)
        shutil.rmtree(self.cache / job_id, ignore_errors=True)

    def clean_unpublished(self, job_id: str, *, keep: str | None) -> list[str]:
        """Delete staging directories and stored runs of a job other than ``keep``."""
        removed: list[str] = []
        for path in (self.staging / job_id).glob(".tmp-*"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
        kept = self._path(keep) if keep else None
        root = self._job_root(job_id)
        self.fs.invalidate_cache(root)
        try:
            runs = self.fs.ls(root, detail=False) if self.fs.exists(root) else []
        except Exception:
            log.warning("could not list %s; its unpublished runs stay for now", root, exc_info=True)
            return removed
        for run in runs:
            run = str(run).rstrip("/")
            if run.rsplit("/", 1)[-1].startswith("r-") and run != kept:
                self._forget(run)
                removed.append(self._url(run))
        return removed

    # -- reading ------------------------------------------------------------------------

    def _manifest(self, run: str) -> dict[str, Any] | None:
        """The run's manifest, or None when it has none (unfinished or deleted)."""
        try:
            self.fs.invalidate_cache(run)
            data = self.fs.cat_file(f"{run}/{METADATA_FILE}")
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageUnavailable(
                reason=f"reading {run}: {exc}", retry_after=_RETRY_AFTER
            ) from exc
        manifest = json.loads(data)
        return manifest if isinstance(manifest, dict) else None

    def file(self, job: Job, name: str) -> Path | None:
        """The published file ``name`` of ``job``, copied into this replica's cache."""
        if not job.result_dir or not job.results or name not in job.results or "/" in name:
            return None
        run = self._path(job.result_dir)
        local = self.cache / job.id / run.rsplit("/", 1)[-1] / name
        if local.is_file():
            return local
        manifest = self._manifest(run)
        if manifest is None or name not in manifest.get("assets", {}):
            shutil.rmtree(self.cache / job.id, ignore_errors=True)
            return None
        local.parent.mkdir(parents=True, exist_ok=True)
        part = local.with_name(f".{name}.{uuid.uuid4().hex[:8]}.part")
        try:
            self.fs.get_file(f"{run}/{name}", str(part))
        except FileNotFoundError:
            return None
        except Exception as exc:
            part.unlink(missing_ok=True)
            raise StorageUnavailable(
                reason=f"reading {name}: {exc}", retry_after=_RETRY_AFTER
            ) from exc
        part.replace(local)  # atomic: concurrent downloads of one file never see a partial copy
        return local

    def local_dir(self, job: Job) -> Path:
        """All published files of ``job`` in this replica's cache (for ``load_result``)."""
        run = self._path(job.result_dir or "")
        for name in job.results or {}:
            self.file(job, str(name))
        return self.cache / job.id / run.rsplit("/", 1)[-1]

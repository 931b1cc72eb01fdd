"""Result storage: the local layout and object storage (fsspec on files, S3 on moto) pass one
conformance class; then what only object storage must do (manifest last, outages)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eostation.config import Settings, StorageSettings
from eostation.errors import StorageUnavailable
from eostation.jobs.model import Job, JobStatus
from eostation.jobs.objstore import (
    ObjectResultLayout,
    ResultStorage,
    result_storage,
    single_attempt_options,
)
from eostation.jobs.results import METADATA_FILE, ResultLayout
from tests.s3_server import S3Emulator, s3_emulator  # noqa: F401

PAYLOAD = b"\x00\x01GeoTIFF bytes\xff" * 1000


def _job(final: str | Path | None, names: list[str]) -> Job:
    now = datetime.now(UTC)
    return Job(
        id="job1",
        user_id="alice",
        process={},
        status=JobStatus.FINISHED,
        created=now,
        updated=now,
        result_dir=None if final is None else str(final),
        results={n: {"type": "image/tiff"} for n in names},
    )


def _stage(storage: ResultStorage, files: dict[str, bytes]) -> Path:
    tmp = storage.new_tmp("job1")
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    return tmp


def _metadata(names: list[str]) -> dict[str, Any]:
    return {"job_id": "job1", "assets": {n: {"type": "image/tiff"} for n in names}}


class ResultStorageTests:
    """Every result storage must pass these."""

    @pytest.fixture
    def storage(self, tmp_path: Path) -> ResultStorage:
        raise NotImplementedError

    def test_published_files_read_back_unchanged(self, storage: ResultStorage) -> None:
        files = {"a.tif": PAYLOAD, "b.json": b'{"x": 1}'}
        final = storage.publish(_stage(storage, files), _metadata(list(files)))
        job = _job(final, list(files))
        for name, data in files.items():
            path = storage.file(job, name)
            assert path is not None and path.read_bytes() == data
        assert (storage.local_dir(job) / "a.tif").read_bytes() == PAYLOAD

    def test_only_recorded_names_are_served(self, storage: ResultStorage) -> None:
        final = storage.publish(_stage(storage, {"a.tif": PAYLOAD}), _metadata(["a.tif"]))
        assert storage.file(_job(final, ["a.tif"]), METADATA_FILE) is None
        assert storage.file(_job(final, ["a.tif"]), "../a.tif") is None
        assert storage.file(_job(None, ["a.tif"]), "a.tif") is None

    def test_clean_unpublished_keeps_only_the_recorded_run(self, storage: ResultStorage) -> None:
        kept = storage.publish(_stage(storage, {"a.tif": b"old"}), _metadata(["a.tif"]))
        stray = storage.publish(_stage(storage, {"a.tif": b"new"}), _metadata(["a.tif"]))
        staged = _stage(storage, {"a.tif": b"partial"})
        removed = storage.clean_unpublished("job1", keep=str(kept))
        assert {str(r) for r in removed} == {str(stray), str(staged)}
        assert not staged.exists()
        path = storage.file(_job(kept, ["a.tif"]), "a.tif")
        assert path is not None and path.read_bytes() == b"old"
        assert storage.file(_job(stray, ["a.tif"]), "a.tif") is None

    def test_removed_runs_and_jobs_are_gone(self, storage: ResultStorage) -> None:
        first = storage.publish(_stage(storage, {"a.tif": b"1"}), _metadata(["a.tif"]))
        storage.remove(str(first))
        assert storage.file(_job(first, ["a.tif"]), "a.tif") is None
        second = storage.publish(_stage(storage, {"a.tif": b"2"}), _metadata(["a.tif"]))
        storage.remove_job("job1")
        assert storage.file(_job(second, ["a.tif"]), "a.tif") is None
        assert storage.clean_unpublished("job1", keep=None) == []


class TestLocalLayout(ResultStorageTests):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> ResultStorage:
        return ResultLayout(tmp_path / "jobs")


class TestObjectStorageOnFiles(ResultStorageTests):
    """The manifest protocol through fsspec's local file system."""

    @pytest.fixture
    def storage(self, tmp_path: Path) -> ResultStorage:
        return ObjectResultLayout(
            f"file://{tmp_path / 'store'}", staging=tmp_path / "jobs", cache=tmp_path / "cache"
        )


class TestObjectStorageOnS3(ResultStorageTests):
    @pytest.fixture
    def storage(self, tmp_path: Path, s3_emulator: S3Emulator) -> ResultStorage:  # noqa: F811
        return _s3(tmp_path, s3_emulator, retry_seconds=0.5)


# One more attempt plus the removal of the partial upload (also one bounded attempt) on a
# loaded machine; far below the 20-40 s the libraries' own retries took.
OUTAGE_MARGIN_S = 8.0


def _s3(tmp_path: Path, s3: S3Emulator, retry_seconds: float) -> ObjectResultLayout:
    return ObjectResultLayout(
        f"s3://{s3.bucket()}/results",
        s3.options,
        staging=tmp_path / "jobs",
        cache=tmp_path / "cache",
        retry_seconds=retry_seconds,
    )


def test_settings_choose_the_storage(tmp_path: Path) -> None:
    local = result_storage(Settings(data_dir=tmp_path))
    assert isinstance(local, ResultLayout) and local.root == tmp_path / "jobs"
    shared = result_storage(
        Settings(data_dir=tmp_path, storage=StorageSettings(results_url=f"file://{tmp_path}/nfs"))
    )
    assert isinstance(shared, ResultLayout) and shared.root == tmp_path / "nfs"
    s3 = result_storage(
        Settings(
            data_dir=tmp_path,
            storage=StorageSettings(
                results_url="s3://bucket/some/prefix", options={"anon": True}, retry_seconds=3
            ),
        )
    )
    assert isinstance(s3, ObjectResultLayout)
    assert (s3.root, s3.protocol, s3.retry_seconds) == ("bucket/some/prefix", "s3", 3)


def test_s3_makes_one_bounded_attempt_per_call_unless_the_operator_says_otherwise() -> None:
    options = single_attempt_options("s3", {"anon": True}, retry_seconds=1)
    assert options == {
        "anon": True,
        "config_kwargs": {
            "retries": {"total_max_attempts": 1},
            "connect_timeout": 1,
            "read_timeout": 60.0,
        },
    }
    assert single_attempt_options("s3", {}, 300)["config_kwargs"]["connect_timeout"] == 5.0
    own = {"config_kwargs": {"retries": {"mode": "adaptive", "max_attempts": 3}}}
    kept = single_attempt_options("s3", own, 30)["config_kwargs"]
    assert kept["retries"] == {"mode": "adaptive", "max_attempts": 3}
    assert own == {"config_kwargs": {"retries": {"mode": "adaptive", "max_attempts": 3}}}
    assert single_attempt_options("gs", {"token": "anon"}, 1) == {"token": "anon"}


def test_the_s3_filesystem_itself_does_not_retry(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    storage = _s3(tmp_path, s3_emulator, retry_seconds=1)
    assert storage.fs.retries == 1


def test_a_run_without_manifest_is_never_served(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    storage = _s3(tmp_path, s3_emulator, retry_seconds=0.5)
    final = storage.publish(_stage(storage, {"a.tif": PAYLOAD}), _metadata(["a.tif"]))
    run = final.split("://", 1)[1]
    manifest = json.loads(storage.fs.cat_file(f"{run}/{METADATA_FILE}"))
    assert manifest["assets"] == {"a.tif": {"type": "image/tiff"}}
    # The data file is there, the manifest is not: an interrupted upload.
    storage.fs.rm_file(f"{run}/{METADATA_FILE}")
    assert storage.fs.cat_file(f"{run}/a.tif") == PAYLOAD
    assert storage.file(_job(final, ["a.tif"]), "a.tif") is None


@pytest.mark.slow
def test_an_outage_shorter_than_the_retry_budget_is_ridden_out(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    storage = _s3(tmp_path, s3_emulator, retry_seconds=30)
    tmp = _stage(storage, {"a.tif": PAYLOAD})
    outcome: dict[str, Any] = {}
    with s3_emulator.outage():
        worker = threading.Thread(
            target=lambda: outcome.update(final=storage.publish(tmp, _metadata(["a.tif"])))
        )
        worker.start()
        time.sleep(2)
        assert worker.is_alive()  # still retrying while the store is down
    worker.join(30)
    path = storage.file(_job(outcome["final"], ["a.tif"]), "a.tif")
    assert path is not None and path.read_bytes() == PAYLOAD
    assert not tmp.exists()


@pytest.mark.slow
def test_a_longer_outage_fails_with_the_reason_and_leaves_nothing(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    storage = _s3(tmp_path, s3_emulator, retry_seconds=1)
    tmp = _stage(storage, {"a.tif": PAYLOAD})
    with s3_emulator.outage(), pytest.raises(StorageUnavailable) as caught:
        started = time.monotonic()
        try:
            storage.publish(tmp, _metadata(["a.tif"]))
        finally:
            elapsed = time.monotonic() - started
    assert "upload of a.tif failed for 1 s" in caught.value.message
    # The budget is ours: the libraries' own retries (botocore, s3fs) took 20-40 s here.
    assert elapsed < 1 + OUTAGE_MARGIN_S, f"a 1 s retry budget took {elapsed:.1f} s"
    assert caught.value.status == 503
    assert storage.clean_unpublished("job1", keep=None) == [str(tmp)]
    assert storage.fs.find(storage.root.split("/")[0]) == []


@pytest.mark.slow
def test_a_job_whose_results_cannot_be_stored_fails_with_the_reason(
    tmp_path: Path,
    s3_emulator: S3Emulator,  # noqa: F811
) -> None:
    from eostation.config import JobSettings
    from eostation.engine.registry import default_registry
    from eostation.jobs.runner import Runner
    from eostation.jobs.store import JobStore
    from eostation.migrations import open_database
    from tests.jobs_support import slow_graph, with_slow

    bucket = s3_emulator.bucket()
    settings = Settings(
        data_dir=tmp_path,
        secret_key="k",
        jobs=JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05),
        storage=StorageSettings(
            results_url=f"s3://{bucket}/results", options=s3_emulator.options, retry_seconds=1
        ),
    )
    runner = Runner(
        settings, JobStore(open_database(settings.db_url)), registry=with_slow(default_registry())
    )
    job = runner.store.create("u", slow_graph(n=2, seconds=0.01))
    runner.store.transition(job.id, JobStatus.QUEUED)
    with s3_emulator.outage():
        started = time.monotonic()
        assert runner.run_once() == job.id
        elapsed = time.monotonic() - started
    assert elapsed < 1 + OUTAGE_MARGIN_S, f"a 1 s retry budget took {elapsed:.1f} s"
    failed = runner.store.find(job.id)
    assert failed is not None and failed.status is JobStatus.ERROR
    assert failed.result_dir is None and failed.results is None
    [entry] = runner.store.logs(job.id, min_level="error", limit=10)[0]
    assert entry.code == "StorageUnavailable"
    assert "result storage is unavailable (upload of openEO.json failed for 1 s" in entry.message
    assert storage_objects(s3_emulator, bucket) == []
    assert not list((tmp_path / "jobs" / job.id).iterdir())  # the staged run is gone too
    # Once the store is back, the same job runs again and publishes.
    runner.store.transition(job.id, JobStatus.QUEUED, current=JobStatus.ERROR)
    assert runner.run_once() == job.id
    done = runner.store.find(job.id)
    assert done is not None and done.status is JobStatus.FINISHED
    assert (runner.layout.local_dir(done) / "openEO.json").read_text() == "2.0"


def storage_objects(s3: S3Emulator, bucket: str) -> list[str]:
    import s3fs

    return sorted(s3fs.S3FileSystem(**s3.options).find(bucket))

"""A runner warms itself (and its Dask workers) with a tiny real job before claiming one."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eostation.config import Settings
from eostation.data.registry import CollectionRegistry
from eostation.jobs.runner import Runner
from eostation.jobs.store import JobStore
from eostation.jobs.warmup import warm_up
from eostation.migrations import open_database


def _runner(tmp_path: Path, **extra: object) -> Runner:
    settings = Settings(data_dir=tmp_path / "data")
    store = JobStore(open_database(f"sqlite:///{tmp_path / 'jobs.db'}"))
    return Runner(settings, store, **extra)  # type: ignore[arg-type]


def _engine_loaded() -> bool:
    """Runs on a Dask worker: has it imported the code that computes a demo cube's chunks?"""
    return {"eostation.data.demo.sentinel2", "eostation.engine.processes.chunk_reducers"} <= set(
        sys.modules
    )


def test_warm_up_computes_a_real_mean_over_time(tmp_path: Path) -> None:
    [path] = warm_up(_runner(tmp_path), tmp_path / "out")
    with rasterio.open(path) as ds:
        values = ds.read()
        assert ds.count == 2 and ds.descriptions == ("B04", "B08")
    assert np.isfinite(values).all() and (values > 0).all()
    assert values.shape[1] * values.shape[2] > 1000


@pytest.mark.slow
def test_warm_up_loads_the_engine_on_every_dask_worker(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert set(client.run(_engine_loaded).values()) == {False}
        [path] = warm_up(_runner(tmp_path, client=client), tmp_path / "out")
        assert set(client.run(_engine_loaded).values()) == {True}
    assert path.stat().st_size > 0


def test_a_failed_warm_up_is_logged_and_does_not_stop_the_runner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = _runner(tmp_path, collections=CollectionRegistry([]))  # no demo collection
    with caplog.at_level(logging.WARNING, logger="eostation.jobs"):
        assert warm_up(runner, tmp_path / "out") == []
    assert "warm-up failed" in caplog.text
    assert runner.run_once() is None  # still claims jobs (none queued)

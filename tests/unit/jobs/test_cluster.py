"""Cluster helpers: worker CPU per job span, priorities, worker arguments, graph sizes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import dask.array as da
import numpy as np
import pytest

from eostation.config import DaskSettings, Settings
from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from eostation.jobs.cluster import (
    ClusterUsage,
    job_priority,
    span_cpu_seconds,
    worker_arguments,
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _burn(block: np.ndarray, seconds: float) -> np.ndarray:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return block


def test_span_cpu_counts_only_the_spans_thread_cpu() -> None:
    digests = {
        ("execute", "job-a", "burn", "thread-cpu", "seconds"): 2.5,
        ("execute", "job-a", "sum", "thread-cpu", "seconds"): 0.5,
        ("execute", "job-a", "burn", "thread-noncpu", "seconds"): 9.0,
        ("execute", "job-b", "burn", "thread-cpu", "seconds"): 7.0,
        ("execute", "burn", "thread-cpu", "seconds"): 11.0,  # the squashed form
        "latency": 1.0,
    }
    assert span_cpu_seconds(digests, "job-a") == 3.0
    assert span_cpu_seconds(digests, "job-c") == 0.0


def test_cluster_usage_sums_the_cpu_of_every_worker(client: Any) -> None:
    mine = ClusterUsage(client, "mine")
    other = ClusterUsage(client, "other")
    with mine.tracking():
        # 8 chunks of 0.1 s CPU, spread over both workers.
        client.compute(da.ones(8, chunks=1).map_blocks(_burn, 0.1, dtype=float).sum()).result()
    with other.tracking():
        client.compute(da.ones(2, chunks=1).map_blocks(_burn, 0.1, dtype=float).sum()).result()
    assert 0.8 <= mine.cpu_seconds(fresh=True) < 2.0
    assert 0.2 <= other.cpu_seconds(fresh=True) < 0.6
    assert ClusterUsage(client, "never-ran").cpu_seconds(fresh=True) == 0.0


def test_smaller_jobs_get_a_higher_priority() -> None:
    assert job_priority(10) > job_priority(1000) > job_priority(100_000)
    assert job_priority(600) == job_priority(1000)  # same size class: first come first served
    assert job_priority(0) == job_priority(1) == 0


def test_worker_arguments_carry_memory_limit_and_spill_dir(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, dask=DaskSettings(memory_limit="3GiB", threads=2, processes=2)
    )
    args = worker_arguments(settings, "tcp://10.0.0.5:8786", name="w1")
    assert args[0] == "tcp://10.0.0.5:8786"

    def value(option: str) -> str:
        return args[args.index(option) + 1]

    assert value("--memory-limit") == "3GiB" and value("--nthreads") == "2"
    assert value("--nworkers") == "2" and value("--name") == "w1"
    assert value("--local-directory") == str(tmp_path / "dask-worker-space")
    assert "--no-dashboard" in args
    assert value("--preload") == "eostation.jobs.preload"  # the engine loads before joining
    custom = Settings(data_dir=tmp_path, dask=DaskSettings(spill_dir=tmp_path / "fast-disk"))
    assert str(tmp_path / "fast-disk") in worker_arguments(custom, "tcp://s:1")


def test_a_demo_graph_carries_parameters_not_pixels(tmp_path: Path) -> None:
    # What the runner submits to the scheduler: the workers generate or read the pixels.
    cube = (
        build_registry(tmp_path)
        .get("SENTINEL2_L2A")
        .load(
            LoadRequest(
                bbox=(5.0, 51.2, 5.1, 51.3),
                temporal=("2022-06-01", "2022-07-01"),
                bands=["B04", "B08"],
            )
        )
    )
    graph_bytes = len(cloudpickle.dumps(dict(cube.data.__dask_graph__())))
    assert cube.nbytes > 50e6
    assert graph_bytes < cube.nbytes / 100, (graph_bytes, cube.nbytes)

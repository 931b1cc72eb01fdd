"""Estimates and validations in worker processes (``eostation.jobs.graphpool``): real
forkserver workers, real pipes, real kills."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eostation.config import Settings
from eostation.engine.context import Cancelled
from eostation.engine.registry import default_registry
from eostation.errors import ProcessGraphComplexity, ProcessUnsupported
from eostation.formats.registry import default_formats
from eostation.jobs.estimate import estimate_process
from eostation.jobs.graphpool import GraphPool
from tests.e2e.test_busy_server import slow_graph
from tests.unit.engine.test_graph_limits import chain

pytestmark = pytest.mark.slow  # starts worker processes


def _estimate(pool: GraphPool, process: dict[str, Any], udp: Any = None) -> Any:
    """The estimate of ``process`` from ``pool``, as the API asks for it."""
    return pool.run({"task": "estimate", "user_id": "alice"}, udp, json.dumps(process))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def pool(settings: Settings) -> Iterator[GraphPool]:
    settings.ensure_data_dir()
    pool = GraphPool(settings, size=1)
    yield pool
    pool.stop()


def test_an_estimate_runs_in_a_worker_process_with_the_engine_answer(
    pool: GraphPool, settings: Settings
) -> None:
    value = asyncio.run(_estimate(pool, chain(50)))
    [pid] = pool.pids()
    assert pid != os.getpid() and _alive(pid)
    assert value["size"] == 1024 and value["costs"] > 0 and value["duration"].startswith("PT")
    # A second task reuses the same worker (no start-up per request).
    assert asyncio.run(_estimate(pool, chain(5)))["size"] == 1024
    assert pool.pids() == [pid]


def test_openeo_errors_keep_class_code_and_message_across_the_pipe(
    pool: GraphPool, settings: Settings
) -> None:
    tight = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"graph_max_nodes": 10})}
    )
    small = GraphPool(tight, size=1)
    try:
        with pytest.raises(ProcessGraphComplexity) as relayed:
            asyncio.run(_estimate(small, chain(50)))
    finally:
        small.stop()
    from eostation.data.registry import build_registry
    from eostation.engine.limits import EngineLimits

    with pytest.raises(ProcessGraphComplexity) as direct:
        estimate_process(
            chain(50),
            user_id="alice",
            registry=default_registry(),
            limits=EngineLimits.from_settings(tight),
            collections=build_registry(tight.data_dir),
            formats=default_formats(),
            timeout_seconds=60,
        )
    assert relayed.value.message == direct.value.message and "10" in direct.value.message
    assert (relayed.value.code, relayed.value.status) == ("ProcessGraphComplexity", 400)


def test_a_worker_asks_for_exactly_the_stored_processes_the_graph_calls(pool: GraphPool) -> None:
    double = {
        "id": "double",
        "parameters": [{"name": "x", "schema": {"type": "number"}}],
        "process_graph": {
            "m": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "x"}, "y": 2},
                "result": True,
            }
        },
    }
    asked: list[str] = []

    def udp(process_id: str) -> dict[str, Any] | None:
        asked.append(process_id)
        return double if process_id == "double" else None

    calls = {
        "process_graph": {"d": {"process_id": "double", "arguments": {"x": 3}, "result": True}}
    }
    assert asyncio.run(_estimate(pool, calls, udp))["size"] == 1024
    # Asked once per process id (the engine also asks for predefined ones: a user's
    # process may not shadow them, but the lookup decides which one is meant).
    assert "double" in asked and len(asked) == len(set(asked))
    unknown = {"process_graph": {"d": {"process_id": "nope", "arguments": {}, "result": True}}}
    with pytest.raises(ProcessUnsupported, match="nope"):
        asyncio.run(_estimate(pool, unknown, udp))
    problems = asyncio.run(
        pool.run(
            {"task": "validate", "user_id": "alice"}, udp, json.dumps(unknown["process_graph"])
        )
    )
    assert [p["code"] for p in problems] == ["ProcessUnsupported"]


def test_an_abandoned_task_kills_its_worker_and_the_next_task_gets_a_new_one(
    pool: GraphPool,
) -> None:
    async def abandon() -> int:
        task = asyncio.ensure_future(_estimate(pool, slow_graph()))
        deadline = time.monotonic() + 60
        while not pool.pids():  # the worker starts, then gets the graph
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        [pid] = pool.pids()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pid

    pid = asyncio.run(abandon())
    assert not _alive(pid), "the abandoned worker still runs"
    assert asyncio.run(_estimate(pool, chain(5)))["size"] == 1024
    [replacement] = pool.pids()
    assert replacement != pid


def test_a_crashed_worker_answers_a_client_error_and_the_pool_recovers(pool: GraphPool) -> None:
    async def crash() -> None:
        task = asyncio.ensure_future(_estimate(pool, slow_graph()))
        deadline = time.monotonic() + 60
        while not pool.pids():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        os.kill(pool.pids()[0], signal.SIGKILL)  # as the kernel's OOM killer would
        await task

    with pytest.raises(ProcessGraphComplexity) as err:
        asyncio.run(crash())
    assert err.value.status == 400 and "exit code -9" in err.value.message
    assert asyncio.run(_estimate(pool, chain(5)))["size"] == 1024


def test_stop_kills_the_workers_and_refuses_new_tasks(settings: Settings) -> None:
    settings.ensure_data_dir()
    pool = GraphPool(settings, size=2)
    asyncio.run(_estimate(pool, chain(5)))
    [pid] = pool.pids()
    pool.stop()
    assert not _alive(pid) and pool.pids() == []
    with pytest.raises(Cancelled):
        asyncio.run(_estimate(pool, chain(5)))


def test_more_tasks_than_workers_wait_for_a_free_one(pool: GraphPool) -> None:
    async def many() -> list[Any]:
        return await asyncio.gather(*(_estimate(pool, chain(20 + i)) for i in range(6)))

    answers = asyncio.run(many())
    assert len(answers) == 6 and all(a["size"] == 1024 for a in answers)
    assert len(pool.pids()) == 1  # size=1: one worker served them one after the other

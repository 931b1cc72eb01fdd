"""A real server under slow estimates: it keeps answering, and stops work nobody waits for."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

N = 700


def slow_graph() -> dict[str, Any]:
    """About 500,000 process runs (15 s of one core): a cheap document, an expensive estimate."""
    inner = {
        "a": {
            "process_id": "add",
            "arguments": {"x": {"from_parameter": "x"}, "y": 1},
            "result": True,
        }
    }
    outer = {
        "m": {
            "process_id": "array_apply",
            "arguments": {"data": list(range(N)), "process": {"process_graph": inner}},
        },
        "s": {"process_id": "sum", "arguments": {"data": {"from_node": "m"}}, "result": True},
    }
    top = {
        "process_id": "array_apply",
        "arguments": {"data": list(range(N)), "process": {"process_graph": outer}},
        "result": True,
    }
    return {"process_graph": {"top": top}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("busy") / "data",
        env={"EOSTATION_LIMITS__CONCURRENT_REQUESTS": "2"},
    ).start()
    yield live
    live.stop()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_45_abandoned_estimates_neither_block_the_server_nor_keep_running(
    server: LiveServer,
) -> None:
    api = server.url + "/openeo/1.2"
    created = httpx.post(api + "/jobs", json={"process": slow_graph()}, timeout=30)
    assert created.status_code == 201, created.text
    estimate = f"{api}/jobs/{created.headers['OpenEO-Identifier']}/estimate"

    def impatient() -> None:
        with contextlib.suppress(httpx.TimeoutException):
            httpx.get(estimate, timeout=4)  # gives up and disconnects

    clients = [threading.Thread(target=impatient) for _ in range(45)]
    for client in clients:
        client.start()
    time.sleep(1.5)
    # Every thread of the shared pool would be taken by now if estimates used it.
    answer = httpx.get(server.url + "/.well-known/openeo", timeout=3)
    assert answer.status_code == 200 and answer.json()["versions"]
    for client in clients:
        client.join()
    time.sleep(1.5)  # the running estimates notice within a poll interval and a node
    assert server.proc is not None
    pid = server.proc.pid
    before = _cpu_seconds(pid)
    time.sleep(2.0)
    busy = _cpu_seconds(pid) - before
    assert busy < 0.5, f"the server still computed {busy:.2f} CPU seconds in 2 s"


def test_sigterm_stops_the_server_within_seconds_and_requeues_the_running_job(
    tmp_path: Path,
) -> None:
    live = LiveServer(tmp_path / "data").start()
    api = live.url + "/openeo/1.2"
    try:
        created = httpx.post(api + "/jobs", json={"process": slow_graph()}, timeout=30)
        job = f"{api}/jobs/{created.headers['OpenEO-Identifier']}"
        assert httpx.post(job + "/results", timeout=10).status_code == 202
        deadline = time.monotonic() + 30
        while httpx.get(job, timeout=5).json()["status"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.2)
        busy = threading.Thread(  # a synchronous request in the middle of its work
            target=lambda: (
                contextlib.suppress(httpx.HTTPError)
                and httpx.post(api + "/result", json={"process": slow_graph()}, timeout=60)
            )
        )
        busy.start()
        time.sleep(1.0)
        assert live.proc is not None
        stopped = time.monotonic()
        live.proc.terminate()
        live.proc.wait(timeout=30)
        took = time.monotonic() - stopped
        busy.join(timeout=30)
    finally:
        live.stop()
    print(f"stopped in {took:.1f} s")
    assert took < 10, f"the server needed {took:.1f} s to stop"
    again = LiveServer(tmp_path / "data").start()
    try:
        logs = httpx.get(job.replace(live.url, again.url) + "/logs", timeout=10).json()["logs"]
        assert any(entry.get("code") == "JobRequeued" for entry in logs), logs
    finally:
        again.stop()

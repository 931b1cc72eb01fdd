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

"""A real server under slow estimates: it keeps answering, and stops work nobody waits for."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from eostation.jobs.store import JobStore
from eostation.migrations import open_database
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

N = 700


def slow_graph() -> dict[str, Any]:
    """About 500,000 process runs (15 s of one core): a cheap document, an expensive run."""
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


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _graph_workers(server: int) -> set[int]:
    """The graph worker processes: what the server's forkserver forked (the runners,
    which poll the database, are left out)."""
    forked = set()
    for pid in _descendants(server) - {server}:
        with contextlib.suppress(OSError):
            if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                forked.add(pid)
    # The forkserver itself is the one whose parent is the server.
    return {pid for pid in forked if int(_stat(pid)[1]) != server}


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    found = {pid}
    while grown := {p for p, parent in parents.items() if parent in found} - found:
        found |= grown
    return found


def _cpu_seconds(pids: set[int]) -> float:
    """CPU seconds of those of ``pids`` still alive (a killed worker counts no more)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat(pid)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def test_abandoned_estimates_neither_block_nor_keep_running_and_sigterm_requeues(
    tmp_path: Path,
) -> None:
    """One server (starting one costs seconds): first 45 clients give up on an expensive
    estimate, then SIGTERM arrives while a job and a synchronous request run."""
    live = LiveServer(tmp_path / "data", env={"EOSTATION_LIMITS__CONCURRENT_REQUESTS": "2"}).start()
    assert live.proc is not None
    api = live.url + "/openeo/1.2"
    try:
        # A cheap estimate first: it starts the forkserver and a graph worker.
        cheap = {
            "process_graph": {
                "a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}
            }
        }
        created = httpx.post(api + "/jobs", json={"process": cheap}, timeout=30)
        first = httpx.get(
            f"{api}/jobs/{created.headers['OpenEO-Identifier']}/estimate", timeout=120
        )
        assert first.status_code == 200 and first.json()["size"] > 0, first.text
        created = httpx.post(api + "/jobs", json={"process": slow_graph()}, timeout=30)
        assert created.status_code == 201, created.text
        job_id = created.headers["OpenEO-Identifier"]
        estimate = f"{api}/jobs/{job_id}/estimate"

        def impatient() -> None:
            with contextlib.suppress(httpx.TimeoutException):
                httpx.get(estimate, timeout=3)  # gives up and disconnects

        clients = [threading.Thread(target=impatient) for _ in range(45)]
        for client in clients:
            client.start()
        time.sleep(1.5)
        # Every thread of the shared pool would be taken by now if estimates used it.
        answer = httpx.get(live.url + "/.well-known/openeo", timeout=3)
        assert answer.status_code == 200 and answer.json()["versions"]
        # The estimates run in worker processes below the server, not in it.
        computing = {live.proc.pid} | _graph_workers(live.proc.pid)
        assert len(computing) > 1, computing
        for client in clients:
            client.join()
        time.sleep(1.5)  # the server notices within a poll interval and kills the workers
        processes = computing | _graph_workers(live.proc.pid)
        before = _cpu_seconds(processes)
        time.sleep(2.0)
        busy = _cpu_seconds(processes) - before
        assert busy < 0.5, f"the server and its workers still computed {busy:.2f} CPU s in 2 s"

        # SIGTERM with a running job and a running synchronous request.
        assert httpx.post(f"{api}/jobs/{job_id}/results", timeout=10).status_code == 202
        deadline = time.monotonic() + 30
        while httpx.get(f"{api}/jobs/{job_id}", timeout=5).json()["status"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.2)

        def synchronous() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(api + "/result", json={"process": slow_graph()}, timeout=60)

        request = threading.Thread(target=synchronous)
        request.start()
        time.sleep(1.0)
        stopped = time.monotonic()
        live.proc.terminate()
        live.proc.wait(timeout=30)
        took = time.monotonic() - stopped
        request.join(timeout=30)
    finally:
        live.stop()
    assert took < 10, f"the server needed {took:.1f} s to stop"
    store = JobStore(open_database(f"sqlite:///{tmp_path / 'data' / 'eostation.db'}"))
    job = store.find(job_id)
    entries, _ = store.logs(job_id, after=None, min_level="debug", limit=100)
    assert job is not None and job.status.value == "queued", [e.message for e in entries]
    assert any(e.code == "JobRequeued" for e in entries)

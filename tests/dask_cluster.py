"""A real Dask cluster for tests: ``dask scheduler`` and ``eostation dask-worker`` processes.

Each process runs on 127.0.0.1; the scheduler keeps its port when it is started again, so
clients and workers can find it after it was killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class DaskCluster:
    """A scheduler and worker processes under ``base`` (logs, spill directories)."""

    def __init__(self, base: Path, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def _log(self, name: str) -> Any:
        return (self.base / f"{name}.log").open("ab")

    def start_scheduler(self) -> DaskCluster:
        """Start ``dask scheduler`` (again) on the cluster's port."""
        cmd = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--no-dashboard"]
        cmd += ["--preload", "eostation.jobs.preload"]  # as docs/deployment.md says
        with self._log("scheduler") as out:
            self.scheduler = subprocess.Popen(cmd, stdout=out, stderr=out, env=self.env)
        return self

    def add_worker(self, memory: str = "1GiB", threads: int = 1) -> subprocess.Popen[bytes]:
        """Start an ``eostation dask-worker`` (one worker process) with its own spill dir."""
        i = len(self.workers)
        cmd = [sys.executable, "-m", "eostation", "dask-worker", "--scheduler", self.address]
        cmd += ["--memory-limit", memory, "--threads", str(threads), "--name", f"w{i}"]
        cmd += ["--spill-dir", str(self.base / f"spill-{i}")]
        with self._log(f"worker-{i}") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=self.env, cwd=ROOT)
        self.workers.append(proc)
        return proc

    def client(self, timeout: float = 60) -> Any:
        """A ``distributed.Client`` of the cluster."""
        from distributed import Client

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 90) -> dict[str, Any]:
        """Wait until ``n`` workers are connected; returns the scheduler's worker table."""
        with self.client(timeout) as c:
            c.wait_for_workers(n, timeout=timeout)
            return dict(c.scheduler_info(n_workers=-1)["workers"])

    def worker_pids(self) -> dict[str, int]:
        """The process id of each connected worker, by address."""
        with self.client() as c:
            return dict(c.run(os.getpid))

    def kill_scheduler(self) -> None:
        """``kill -9`` the scheduler."""
        assert self.scheduler is not None
        os.kill(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait(10)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            if proc is None:
                continue
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        """Every process's log, for assertion messages."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.base.glob("*.log"))
        )

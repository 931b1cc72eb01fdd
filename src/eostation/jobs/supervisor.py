"""Processes around the runners: the local Dask cluster and a pool of runner processes.

``eostation serve`` starts a :class:`RunnerPool` (``--runners N`` processes running
``eostation worker``) next to the API and stops it on exit; a runner that dies is
started again. Each runner watches the pid of the server and leaves when the server
is gone, so a killed server does not leave orphans behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from eostation.config import Settings

__all__ = ["RunnerPool", "start_dask", "watch_parent"]

log = logging.getLogger("eostation.jobs.supervisor")


def start_dask(settings: Settings) -> tuple[str | None, Any]:
    """``(scheduler address, cluster)`` for the runners.

    A configured ``dask_scheduler`` is used as is; ``dask_workers == 0`` means no
    cluster (runners compute with dask's threaded scheduler in-process); otherwise a
    ``distributed.LocalCluster`` with that many worker processes (None: dask's default).
    """
    if settings.dask_scheduler:
        return settings.dask_scheduler, None
    if settings.dask_workers == 0:
        return None, None
    from distributed import LocalCluster

    from eostation.jobs.cluster import spill_dir

    cluster = LocalCluster(
        n_workers=settings.dask_workers,
        threads_per_worker=settings.dask.threads,
        memory_limit=settings.dask.memory_limit,
        processes=True,
        dashboard_address=None,
        local_directory=str(spill_dir(settings)),
    )
    return str(cluster.scheduler_address), cluster


class RunnerPool:
    """``count`` runner processes (``python -m eostation worker``), kept alive until stopped."""

    def __init__(
        self, settings: Settings, count: int, scheduler: str | None, log_dir: Path | None = None
    ) -> None:
        self.settings = settings
        self.count = count
        self.scheduler = scheduler
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        # Each runner touches a file of its own here once it is warm (`worker --ready-file`).
        self._ready_dir = Path(tempfile.mkdtemp(prefix="eostation-runners-"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True, name="runner-pool")

    def _command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "eostation",
            "worker",
            "--data-dir",
            str(self.settings.data_dir),
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.scheduler:
            cmd += ["--scheduler", self.scheduler]
        return [*cmd, "--ready-file", str(self._ready_dir / f"runner-{time.monotonic_ns()}")]

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ}
        if self.settings.database_url:
            env["EOSTATION_DATABASE_URL"] = self.settings.database_url
        return subprocess.Popen(self._command(), env=env)

    def start(self) -> RunnerPool:
        """Start the runners and the thread that restarts them."""
        self.procs = [self._spawn() for _ in range(self.count)]
        self._thread.start()
        return self

    def wait_ready(self, timeout: float) -> float | None:
        """Wait until one runner is warm; the seconds it took, or None after ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.count == 0 or any(self._ready_dir.iterdir()):
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self._stop.is_set():
                    log.warning(
                        "runner %s exited with %s; starting a new one", proc.pid, proc.returncode
                    )
                    self.procs[i] = self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every runner to stop (SIGTERM: running jobs are requeued), then wait."""
        self._stop.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self._ready_dir, ignore_errors=True)


def watch_parent(parent_pid: int, on_gone: threading.Event, interval: float = 0.5) -> None:
    """Set ``on_gone`` when the process ``parent_pid`` is no longer this process's parent."""

    def loop() -> None:
        while not on_gone.wait(interval):
            if os.getppid() != parent_pid:
                on_gone.set()

    threading.Thread(target=loop, daemon=True, name="parent-watch").start()

"""What a runner needs to know about processes and a running job: ids, liveness, usage."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from eostation.jobs.cluster import ClusterUsage

__all__ = ["RunWatch", "process_gone", "rss_mb", "runner_id"]


def runner_id() -> str:
    """``host/pid/random``: unique, and tells a runner on the same host whether it is alive."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def process_gone(runner: str | None) -> bool:
    """Whether ``runner`` ran on this host in a process that no longer exists."""
    if not runner:
        return False
    host, _, rest = runner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def rss_mb() -> float:
    """Resident memory of this process in MB (0 where psutil cannot tell)."""
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 1e6
    except Exception:  # psutil missing or unsupported platform
        return 0.0


@dataclass
class RunWatch:
    """Shared state between a running job and its heartbeat thread."""

    cancel: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    over_budget: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    peak_mb: float = 0.0
    input_pixels: int = 0
    cpu0: float = field(default_factory=time.process_time)
    cluster: ClusterUsage | None = None

    def cpu(self, fresh: bool = False) -> float:
        """This runner's CPU for the job plus its tasks' CPU on the Dask workers."""
        workers = self.cluster.cpu_seconds(fresh) if self.cluster is not None else 0.0
        return time.process_time() - self.cpu0 + workers

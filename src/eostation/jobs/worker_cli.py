"""``eostation dask-worker``: a Dask worker for eostation's jobs (``docs/deployment.md``).

A thin wrapper around ``dask worker``: the same worker, started with eostation's settings
(memory limit, threads, spill directory on a local disk), with owner-only files and with
GDAL's HTTP routed through the outbound guard, as in the processes ``eostation serve``
starts. A Dask worker ends when it loses its scheduler; this wrapper starts it again, so
the workers rejoin a restarted scheduler without an outside supervisor. Plain ``dask
worker`` processes work too; they then lack these defaults.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from eostation.config import Settings

__all__ = ["dask_worker"]


def dask_worker(
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 [env: EOSTATION_DASK_SCHEDULER]."
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            help="Memory per worker process, e.g. 4GiB [env: EOSTATION_DASK__MEMORY_LIMIT]."
        ),
    ] = None,
    spill_dir: Annotated[
        Path | None,
        typer.Option(help="Spill directory [env: EOSTATION_DASK__SPILL_DIR]."),
    ] = None,
    processes: Annotated[
        int | None, typer.Option(help="Worker processes [env: EOSTATION_DASK__PROCESSES].")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Threads per process [env: EOSTATION_DASK__THREADS].")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Worker name (unique in the cluster).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory [env: EOSTATION_DATA_DIR].")
    ] = None,
) -> None:
    """Run Dask worker processes for eostation's jobs (start them on every compute machine)."""
    from eostation.jobs.cluster import worker_arguments
    from eostation.jobs.priority import lower_priority
    from eostation.outbound_proxy import guard_gdal

    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    overrides = {
        "memory_limit": memory_limit,
        "spill_dir": spill_dir,
        "processes": processes,
        "threads": threads,
    }
    dask = settings.dask.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    settings = settings.model_copy(update={"dask": dask})
    address = scheduler or settings.dask_scheduler
    if not address:
        raise typer.BadParameter("give --scheduler or set EOSTATION_DASK_SCHEDULER")
    os.umask(0o077)  # spilled chunks are users' data
    lower_priority(settings.jobs.runner_nice)  # the worker processes inherit it
    if "GDAL_HTTP_PROXY" not in os.environ:
        guard_gdal(settings)  # the worker processes inherit it
    command = [sys.executable, "-m", "distributed.cli.dask_worker"]
    _keep_running([*command, *worker_arguments(settings, address, name)])


RESTART_SECONDS = 1.0
"""Pause before a worker that lost its scheduler starts again."""


def _keep_running(command: list[str]) -> None:
    """Run ``command`` until SIGTERM/SIGINT; start it again whenever it ends by itself."""
    stop = threading.Event()
    current: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        stop.set()
        for proc in current:
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stop.is_set():
        current[:] = [subprocess.Popen(command)]
        if stop.is_set():  # a signal between the check and the start
            current[0].terminate()
        code = current[0].wait()
        if not stop.is_set():
            typer.echo(f"dask worker ended ({code}); starting it again", err=True)
            stop.wait(RESTART_SECONDS)

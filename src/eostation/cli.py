"""The ``eostation`` command line."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from eostation import __version__
from eostation.archive.cli import archive_app
from eostation.cli_options import DataDir, console
from eostation.cli_options import settings_for as _settings
from eostation.config import Settings
from eostation.jobs.worker_cli import dask_worker
from eostation.users_cli import users_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="eostation: a self-hosted openEO back-end.", no_args_is_help=True, add_completion=False
)
app.add_typer(users_app, name="users")
app.add_typer(archive_app, name="archive")
app.command("dask-worker")(dask_worker)

SHUTDOWN_GRACE_SECONDS = 3
"""On SIGTERM: how long requests and runners get before they are cancelled (jobs requeued)."""

GIL_SWITCH_SECONDS = 0.0005
"""``sys.setswitchinterval`` of the server (Python's default is 5 ms)."""


def _private_files() -> None:
    """Everything this process (and its runners and Dask workers) creates is owner-only.

    The data dir holds the database, secrets and job results of every user.
    """
    os.umask(0o077)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"eostation {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """eostation command line."""


def _startup_message(settings: Settings, services: Any, url: str) -> None:
    """Where the data lives, how to connect and, in local mode, the secret and how to use it."""

    def say(text: str) -> None:
        console.print(text, soft_wrap=True)  # long commands and URLs must stay copyable

    say(f"  data dir: {settings.data_dir}")
    say(
        f"  connect:  python -c \"import openeo; print(openeo.connect('{url}').list_collection_ids())\""
    )
    if not services.auth.local_mode():
        say("  authentication required (accounts: 'eostation users list')")
        return
    say(
        "  local mode: scripts on this machine need no login; web pages (the Web Editor, "
        "the JS client in a browser) log in as user [bold]local[/bold] with the secret"
    )
    say(
        f"  secret:   [bold]{services.auth.local_secret()}[/bold]  "
        f"(kept in {settings.data_dir / 'local.secret'})"
    )
    say(
        f"  Web Editor: open https://editor.openeo.org/?server={url} , choose 'Internal' "
        "(HTTP Basic), user 'local', password the secret above"
    )
    say("  notebooks: connection.authenticate_oidc() logs in here without a browser")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000].")] = None,
    data_dir: DataDir = None,
    runners: Annotated[
        int | None,
        typer.Option(help="Batch-job runner processes [default: EOSTATION_CONCURRENT_JOBS]."),
    ] = None,
    dask_workers: Annotated[
        int | None,
        typer.Option(help="Workers of the local Dask cluster (0: run in-process threads)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler to run jobs on, e.g. tcp://10.0.0.5:8786, instead of a "
            "local cluster [env: EOSTATION_DASK_SCHEDULER]."
        ),
    ] = None,
    no_runners: Annotated[
        bool,
        typer.Option(
            "--no-runners",
            help="API only: batch jobs run on `eostation worker` processes (an API replica).",
        ),
    ] = False,
) -> None:
    """Start the openEO API server with the demo collections."""
    import uvicorn

    from eostation.api.app import build_services, create_app
    from eostation.auth import bind_refusal

    if no_runners:  # nothing here computes batch jobs: no runners and no local Dask cluster
        runners, dask_workers = 0, 0 if dask_workers is None else dask_workers
    settings = _settings(
        data_dir,
        host=host,
        port=port,
        runners=runners,
        dask_workers=dask_workers,
        dask_scheduler=scheduler,
    )
    _private_files()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    services = build_services(settings)
    refusal = bind_refusal(settings.host, services.auth)
    if refusal:
        console.print(f"[red]error:[/red] {refusal}")
        raise typer.Exit(2)
    url = f"http://{settings.host}:{settings.port}"
    console.print(
        f"[bold]eostation {__version__}[/bold] serving openEO API 1.2 at [cyan]{url}[/cyan]"
    )
    _startup_message(settings, services, url)
    from eostation.jobs.supervisor import RunnerPool, start_dask
    from eostation.outbound_proxy import guard_gdal

    guard_gdal(settings)  # before the Dask workers and runners, which inherit it
    scheduler, cluster = start_dask(settings)
    pool = RunnerPool(settings, settings.runner_count, scheduler).start()
    console.print(
        f"  jobs:     {settings.runner_count} runner(s), "
        + (f"Dask scheduler {scheduler}" if scheduler else "in-process Dask threads")
    )
    if settings.jobs.warm_up and settings.jobs.ready_wait_seconds > 0 and settings.runner_count:
        # Answer only once a runner is warm: a job submitted at once would otherwise wait
        # for the runner's imports and warm-up (seconds), unlike every later job.
        waited = pool.wait_ready(settings.jobs.ready_wait_seconds)
        console.print(
            f"  runners:  warm after {waited:.1f} s"
            if waited is not None
            else "  runners:  not warm yet; the first job may wait for them"
        )
    # Engine threads run pure Python between numpy calls; a short GIL switch interval
    # keeps the event loop answering while they do (see docs/security.md, limits).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # uvicorn re-raises the signal it stopped on when it is done: with the default
    # handler the process would die before the runners below requeue their jobs.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        # On SIGTERM, requests get a few seconds to finish; then they are cancelled (the
        # engine work with them, see eostation.api.heavy) so the server exits promptly.
        uvicorn.run(
            create_app(settings, services),
            host=settings.host,
            port=settings.port,
            log_level="info",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
    finally:
        pool.stop(timeout=2 * SHUTDOWN_GRACE_SECONDS)  # running jobs are requeued
        if cluster is not None:
            cluster.close()


@app.command()
def run(
    graph: Annotated[
        Path, typer.Argument(help="Process graph JSON (as the clients send or save it).")
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output file (or folder for several files)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a process graph on this machine, without a server: same engine, same outputs."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from eostation.errors import OpenEOError
    from eostation.jobs.local import read_process, run_local

    settings = _settings(data_dir)
    colours = {"error": "red", "warning": "yellow", "info": "cyan", "debug": "dim"}

    def log(level: str, message: str, data: Any) -> None:
        extra = "" if data is None else f" {data!r}"[:2000]
        console.print(f"[{colours.get(level, 'white')}]{level}[/]: {message}{extra}")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("computing", total=100)
        try:
            paths = run_local(
                read_process(graph),
                output,
                settings,
                log=log,
                progress=lambda p: bar.update(task, completed=p),
            )
        except OpenEOError as exc:
            console.print(f"[red]error[/red] [{exc.code}]: {exc.message}")
            raise typer.Exit(1) from None
    for path in paths:
        typer.echo(str(path))


@app.command()
def worker(
    data_dir: DataDir = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address [env: EOSTATION_DASK_SCHEDULER]; none: threads."),
    ] = None,
    parent_pid: Annotated[
        int | None, typer.Option(help="Exit when this process (the server) is gone.")
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option(help="File to create once warmed up, before the first job.", hidden=True),
    ] = None,
) -> None:
    """Run batch jobs from the database (run more of these on other machines)."""
    import os
    import signal
    import threading

    from eostation.jobs.priority import lower_priority
    from eostation.jobs.runner import Runner
    from eostation.jobs.store import JobStore
    from eostation.jobs.supervisor import watch_parent
    from eostation.migrations import open_database
    from eostation.outbound_proxy import guard_gdal

    settings = _settings(data_dir, dask_scheduler=scheduler)
    # Before any thread or process starts: they inherit it (docs/deployment.md).
    lower_priority(settings.jobs.runner_nice)
    _private_files()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if "GDAL_HTTP_PROXY" not in os.environ:  # started by hand, not by `eostation serve`
        guard_gdal(settings)
    client = None
    if settings.dask_scheduler:
        from distributed import Client

        client = Client(settings.dask_scheduler, set_as_default=True)
        if settings.jobs.runner_nice:
            from eostation.jobs.priority_plugin import LowPriority

            client.register_plugin(LowPriority(settings.jobs.runner_nice))
    db = open_database(settings.db_url, busy_seconds=settings.db_busy_seconds)
    runner = Runner(settings, JobStore(db), client=client)
    stop = runner.shutdown

    def _terminate(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if parent_pid is not None:
        watch_parent(parent_pid, stop)
    if settings.jobs.warm_up:
        from eostation.jobs.warmup import warm_up

        warm_up(runner)
    if ready_file is not None:
        ready_file.touch()
    logging.getLogger("eostation.jobs").info("runner %s started", runner.id)
    # The loop runs in a thread so that signals are handled at once in the main thread.
    thread = threading.Thread(target=runner.run_forever, name="runner")
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
    if client is not None:
        client.close()
    if not stop.is_set():
        # The loop ended without being asked to: exit non-zero so that a supervisor restarts us.
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()

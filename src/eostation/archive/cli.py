"""``eostation archive …``: fetch, ingest, query and describe a HEALPix/Zarr archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from .archive import Archive

__all__ = ["archive_app"]

archive_app = typer.Typer(
    help="The HEALPix/Zarr archive: fetch tiles through openEO, ingest, query, plot.",
    no_args_is_help=True,
)
console = Console(stderr=True)

ArchivePath = Annotated[
    str | None,
    typer.Option(
        "--archive",
        "-a",
        help="Archive directory or URL (s3://…) [default: EOSTATION_STORAGE__ARCHIVE_URL, "
        "else <data dir>/archive.zarr].",
    ),
]
BBoxOption = Annotated[str, typer.Option("--bbox", help="W,S,E,N in degrees.")]
TimeOption = Annotated[
    str | None, typer.Option("--time", help="START/END (end exclusive) or one day.")
]
BandsOption = Annotated[str | None, typer.Option("--bands", help="Comma-separated band names.")]


def _open(path: str | None) -> Archive:
    """The archive named on the command line or by the settings, with the storage options."""
    from eostation.config import Settings

    from .archive import Archive

    settings = Settings()
    where = path or settings.storage.archive_url or settings.data_dir / "archive.zarr"
    return Archive(where, options=settings.storage.options)


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected W,S,E,N, got {text!r}") from None
    return (w, s, e, n)


def _time(text: str | None) -> tuple[str | None, str | None] | str | None:
    if text is None:
        return None
    if "/" in text:
        start, end = text.split("/", 1)
        return (start or None, end or None)
    return text


def _bands(text: str | None) -> list[str] | None:
    return [b.strip() for b in text.split(",") if b.strip()] if text else None


@archive_app.command("fetch")
def fetch(
    collection: Annotated[str, typer.Option(help="Collection id, e.g. SENTINEL1_GRD.")],
    bbox: BBoxOption,
    time: Annotated[str, typer.Option("--time", help="START/END, end exclusive.")],
    bands: BandsOption = None,
    max_inflight: Annotated[int, typer.Option(help="Batch jobs in flight at once.")] = 2,
    retries: Annotated[int, typer.Option(help="Extra attempts for a failed tile.")] = 2,
    url: Annotated[str, typer.Option(help="openEO back-end URL.")] = "http://127.0.0.1:8000",
    poll: Annotated[float, typer.Option(help="Seconds between status polls.")] = 2.0,
    login: Annotated[bool, typer.Option(help="Log in with OIDC (e.g. on CDSE).")] = False,
    archive: ArchivePath = None,
) -> None:
    """Fetch an AOI tile by tile (0.5° × 1°) as batch jobs and ingest every finished tile."""
    from openeo.rest.connection import connect
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .fetch import TileFetcher

    start, _, end = time.partition("/")
    if not end:
        raise typer.BadParameter("--time must be START/END")
    connection = connect(url)
    if login:
        connection.authenticate_oidc()
    columns = (
        TextColumn("[bold]tiles"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("", total=None)

        def show(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message)

        fetcher = TileFetcher(
            _open(archive),
            connection,
            collection,
            _bbox(bbox),
            (start, end),
            _bands(bands),
            max_inflight=max_inflight,
            retries=retries,
            poll_seconds=poll,
            progress=show,
        )
        report = fetcher.run()
    console.print(
        f"{report.done} tile(s) done, {report.failed} failed, {report.retries} retried, "
        f"at most {report.peak_inflight} job(s) in flight, {report.seconds:.1f} s"
    )
    if report.failed:
        raise typer.Exit(1)


@archive_app.command("ingest")
def ingest(
    file: Annotated[Path | None, typer.Argument(help="A netCDF or GeoTIFF cube.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="A finished batch job id.")] = None,
    url: Annotated[
        str, typer.Option(help="openEO back-end URL (with --job).")
    ] = "http://127.0.0.1:8000",
    date: Annotated[
        str | None, typer.Option(help="Date of a GeoTIFF without one in its name.")
    ] = None,
    archive: ArchivePath = None,
) -> None:
    """Ingest a local file (netCDF, GeoTIFF) or the results of a finished batch job."""
    import tempfile

    from .results import read_result
    from .state import ArchiveWriteError

    if (file is None) == (job is None):
        raise typer.BadParameter("give either FILE or --job")
    target = _open(archive)
    with tempfile.TemporaryDirectory(prefix="eostation-ingest-") as tmp:
        if job is not None:
            from openeo.rest.connection import connect

            files = (
                connect(url).job(job).get_results().download_files(tmp, include_stac_metadata=False)
            )
            paths = [Path(p) for p in files if Path(p).suffix in (".nc", ".tif", ".tiff")]
        else:
            assert file is not None
            paths = [file]
        for path in paths:
            try:
                report = target.ingest(read_result(path, date))
            except ArchiveWriteError as exc:
                console.print(f"[red]{path.name}: {exc}")
                raise typer.Exit(1) from None
            console.print(
                f"{path.name}: {report.dates} date(s) × {report.bands} band(s) into "
                f"{report.chunks} chunk(s) ({report.method})"
            )


@archive_app.command("query")
def query(
    bbox: BBoxOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="out.nc or out.png")],
    time: TimeOption = None,
    resolution: Annotated[
        float | None, typer.Option(help="Pixel size in degrees [default: bbox / 800].")
    ] = None,
    bands: BandsOption = None,
    archive: ArchivePath = None,
) -> None:
    """Read a bbox back on a regular lon/lat grid, as netCDF or a PNG."""
    from .plot import plot_dataset

    box = _bbox(bbox)
    res = resolution or max(box[2] - box[0], box[3] - box[1]) / 800
    ds = _open(archive).query(box, _time(time), res, bands=_bands(bands))
    if output.suffix.lower() == ".png":
        plot_dataset(ds, output)
    else:
        ds.to_netcdf(output, engine="h5netcdf")
    console.print(
        f"{output}: {ds.sizes['time']} date(s), {ds.sizes['latitude']}×{ds.sizes['longitude']} px"
    )


@archive_app.command("info")
def info(archive: ArchivePath = None) -> None:
    """Coverage, dates, bands and size of the archive (JSON)."""
    doc = _open(archive).info()
    doc.pop("shard_cells", None)
    typer.echo(json.dumps(doc, indent=2))

"""Wiring of the catalogue behind the STAC API: index, indexers, upstreams, assets.

Also serves the files of ``files`` collections (``/stac/v1/files/{collection}/{item}``,
ranges supported), the assets of their items.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse

from eostation.api.deps import API_PREFIX, Services
from eostation.api.routes import stac, stac_assets
from eostation.catalog.index import ItemIndex
from eostation.catalog.indexers import FilesIndexer, ResultsIndexer
from eostation.catalog.sqlite import SqliteItemIndex
from eostation.catalog.upstream import UpstreamSearch
from eostation.config import Settings
from eostation.errors import ItemNotFound
from eostation.jobs.model import Job

__all__ = ["install"]

files_router = APIRouter(prefix=stac.STAC_PREFIX, tags=["STAC API"])


@files_router.head("/files/{collection_id}/{item_id}", include_in_schema=False)
@files_router.get("/files/{collection_id}/{item_id}", summary="A local file")
def local_file(collection_id: str, item_id: str, request: Request) -> FileResponse:
    """The file behind an item of a ``files`` collection (ranges supported)."""
    indexer: FilesIndexer = request.app.state.files_indexer
    path = indexer.path(collection_id, item_id)
    if path is None or not path.is_file():
        raise ItemNotFound(item_id=item_id, collection_id=collection_id)
    return FileResponse(path, filename=path.name)


def _finished_jobs(services: Services) -> Any:
    from eostation.jobs.model import JobStatus

    def finished(user_id: str) -> list[Any]:
        jobs: list[Any] = []
        offset = 0
        while True:
            batch, more = services.jobs.list(user_id, limit=500, offset=offset)
            jobs += [j for j in batch if j.status == JobStatus.FINISHED and j.results]
            if not more or not batch:
                return jobs
            offset += len(batch)

    return finished


def open_item_index(settings: Settings) -> ItemIndex:
    """The items index ``catalog.index`` selects: pgstac (schema migrated first) or SQLite."""
    choice = settings.catalog.index
    if choice == "auto":
        choice = "pgstac" if settings.db_url.startswith("postgresql") else "sqlite"
    if choice == "sqlite":
        return SqliteItemIndex(settings.ensure_data_dir() / "items.db")
    # psycopg and pypgstac (the postgres extra) only when pgstac is used.
    from eostation.catalog.pgstac import PgstacItemIndex, migrate_pgstac

    migrate_pgstac(settings.db_url)
    return PgstacItemIndex(settings.db_url)


def install(app: FastAPI, services: Services) -> None:
    """Mount the STAC API on ``app`` and build its catalogue from the services."""
    # The renderer draws the demo world (dask): imported when the app is built, not with
    # the API package (tests/test_imports.py).
    from eostation.catalog.archive_items import ArchiveIndexer
    from eostation.catalog.assets import AssetRenderer
    from eostation.catalog.service import CatalogService, results_collection_id
    from eostation.data.archive_source import ArchiveSource
    from eostation.data.files.source import FileCollection
    from eostation.data.stac.source import StacCollection

    settings = services.settings
    data_dir = settings.ensure_data_dir()
    sources = services.collections.all()
    index = open_item_index(settings)
    app.state.item_index = index

    upstream = {
        s.id: UpstreamSearch(s.id, s.config.url, s.config.collection, s._headers, outbound=s.guard)
        for s in sources
        if isinstance(s, StacCollection)
    }

    def href(job: Job, name: str) -> str:
        # Bound to the run and the owner's account, like the links of /jobs/{id}/results.
        expires, signature = services.jobs.link_signer(job)(name)
        return f"{API_PREFIX}/jobs/{job.id}/results/{expires}/{signature}/{name}"

    results = ResultsIndexer(
        index,
        _finished_jobs(services),
        href,
        results_collection_id,
        settings.jobs.link_ttl_seconds,
    )
    files = FilesIndexer(index, [s for s in sources if isinstance(s, FileCollection)])
    archives = ArchiveIndexer(index, [s for s in sources if isinstance(s, ArchiveSource)])
    app.state.catalog = CatalogService(
        sources, index, upstream, sync_user=results.sync, sync_shared=archives.sync
    )
    app.state.files_indexer = files
    app.state.asset_renderer = AssetRenderer(
        data_dir / "asset-cache", settings.catalog.asset_cache_bytes
    )
    files.start()
    app.include_router(stac.router)
    app.include_router(stac_assets.router)
    app.include_router(files_router)

"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from eostation import __version__
from eostation.api.deps import API_PREFIX, Services, api_url
from eostation.api.guard import HostGuardMiddleware
from eostation.api.handlers import (
    ODATA_PREFIX,
    BodyLimitMiddleware,
    RequestIdMiddleware,
    install_handlers,
)
from eostation.api.heavy import HeavyWork
from eostation.api.openapi import install_openapi
from eostation.api.ratelimit import RateLimiter
from eostation.api.routes import (
    account,
    capabilities,
    collections,
    dashboard,
    issuer,
    jobs,
    odata,
    process_graphs,
    processes,
    result,
    stac_setup,
    tiles,
)
from eostation.api.slashes import MergeSlashesMiddleware
from eostation.auth import Authenticator
from eostation.config import Settings
from eostation.jobs.graphpool import GraphPool
from eostation.jobs.service import JobService
from eostation.jobs.store import JobStore
from eostation.jobs.synclogs import SyncLogs
from eostation.migrations import open_database
from eostation.outbound import OutboundPolicy
from eostation.udps import UdpStore
from eostation.users import UserStore

__all__ = ["build_services", "create_app"]

# Headers that browser clients (JS client, Web Editor) must be able to read.
_EXPOSED = ["Location", "OpenEO-Identifier", "OpenEO-Costs", "Link", "Request-Id"]


def build_services(settings: Settings) -> Services:
    """Open the database and build the registries the API serves."""
    from eostation.data.registry import build_registry
    from eostation.engine.registry import default_registry
    from eostation.formats.registry import default_formats

    settings.ensure_data_dir()
    db = open_database(settings.db_url, busy_seconds=settings.db_busy_seconds)
    users = UserStore(db)
    return Services(
        settings=settings,
        db=db,
        users=users,
        auth=Authenticator(settings, users),
        collections=build_registry(
            settings.data_dir, OutboundPolicy.from_settings(settings), settings.storage.options
        ),
        processes=default_registry().load_all(),  # a server pays its imports at start
        formats=default_formats(),
        jobs=JobService(settings, JobStore(db)),
        udps=UdpStore(db),
        sync_logs=SyncLogs(),
        heavy=HeavyWork(settings.limits.concurrent_requests, GraphPool(settings)),
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """An eostation API app serving openEO 1.2 under ``/openeo/1.2``."""
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        services.heavy.stop()
        services.auth.close()
        services.db.dispose()
        if hasattr(_app.state, "item_index"):  # the catalogue's (pgstac: a connection pool)
            _app.state.files_indexer.stop()
            _app.state.item_index.close()

    app = FastAPI(
        title=settings.title,
        version=__version__,
        description="openEO API 1.2 back-end",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.state.rate_limiter = RateLimiter(settings.rate_limits)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        # As the openEO API requires: tokens travel in the Authorization header, never in
        # cookies, so browsers need no credentialed CORS (see api/guard.py for the rest).
        allow_credentials=False,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"],
        allow_headers=["Authorization", "Content-Type", "Range"],
        expose_headers=_EXPOSED,
    )
    # Outside CORS so that even preflights to a foreign host name are refused.
    app.add_middleware(HostGuardMiddleware, settings=settings)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MergeSlashesMiddleware)  # outermost: every layer sees the merged path
    install_handlers(app)
    install_openapi(app)

    app.include_router(capabilities.root_router)
    app.include_router(issuer.router)
    openeo_routers = [
        m.router
        for m in (capabilities, account, collections, processes, process_graphs, result, jobs)
    ]
    for router in openeo_routers:
        app.include_router(router, prefix=API_PREFIX)
    app.state.openeo_endpoints = capabilities.openeo_endpoints(openeo_routers)
    stac_setup.install(app, services)  # the STAC API at /stac/v1 and its catalogue
    if services.odata is None:
        from eostation.catalog.odata.service import build_odata

        services.odata = build_odata(
            settings,
            services.db,
            services.collections,
            app.state.catalog,
            odata.item_files(app, services),
        )
    app.include_router(odata.router, prefix=ODATA_PREFIX)  # CDSE's OData catalogue

    dashboard.install(app, settings)
    app.include_router(tiles.router)

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        # Browsers opening the server get the dashboard; clients keep the JSON.
        if dashboard.wants_html(request.headers.get("accept")):
            response: Response = dashboard.index_response(settings)
        else:
            response = JSONResponse(
                {
                    "service": "eostation",
                    "version": __version__,
                    "openeo": api_url(request, services, "/"),
                    "connect": f"openeo.connect({str(request.base_url).rstrip('/')!r})",
                    "dashboard": api_url(request, services).removesuffix(API_PREFIX)
                    + dashboard.PREFIX
                    + "/",
                }
            )
        response.headers["Vary"] = "Accept"
        return response

    return app

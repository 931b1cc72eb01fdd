"""Dependency providers: the services the routes use, and the current user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from eostation.api.guard import is_browser_request
from eostation.api.heavy import HeavyWork
from eostation.auth import Authenticator
from eostation.config import Settings
from eostation.data.registry import CollectionRegistry
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry
from eostation.errors import OpenEOError
from eostation.formats.registry import FormatRegistry
from eostation.jobs.service import JobService
from eostation.jobs.sync import SyncService
from eostation.jobs.synclogs import SyncLogs
from eostation.udps import UdpStore
from eostation.users import User, UserStore

if TYPE_CHECKING:  # the catalogue computes demo items (dask): built in create_app
    from eostation.catalog.odata.service import ODataCatalogue

__all__ = [
    "CurrentUser",
    "Services",
    "ServicesDep",
    "api_url",
    "current_user",
    "get_services",
    "optional_user",
]

API_PREFIX = "/openeo/1.2"


@dataclass
class Services:
    """Everything the API needs, built once in ``create_app``."""

    settings: Settings
    db: Engine
    users: UserStore
    auth: Authenticator
    collections: CollectionRegistry
    processes: ProcessRegistry
    formats: FormatRegistry
    jobs: JobService
    udps: UdpStore
    sync_logs: SyncLogs
    heavy: HeavyWork
    odata: ODataCatalogue | None = None  # None: the OData catalogue is not served

    def limits(self) -> EngineLimits:
        """The engine limits of a graph run now (UDFs depend on the number of accounts)."""
        return EngineLimits.from_settings(self.settings, accounts=self.users.count())

    def sync(self) -> SyncService:
        """Synchronous processing (``POST /result``) on these services."""
        return SyncService(
            self.settings,
            processes=self.processes,
            collections=self.collections,
            formats=self.formats,
            limits=self.limits,
            store=self.jobs.store,
            udps=self.udps,
            logs=self.sync_logs,
        )


async def get_services(request: Request) -> Services:
    """The app's services (async: it must not wait for a thread of the shared pool)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_user(request: Request, services: ServicesDep) -> User:
    """The authenticated user; raises an openEO auth error otherwise.

    Accepts every form of credentials: ``Bearer basic//…``, ``Bearer oidc/<provider>/…``
    and plain ``Bearer <jwt>`` of the built-in issuer (what STAC and OData clients send).
    A request a web page could have sent never acts as the credential-free local user.
    """
    return services.auth.authenticate(
        request.headers.get("authorization"), browser=is_browser_request(request.headers)
    )


CurrentUser = Annotated[User, Depends(current_user)]


def optional_user(request: Request, services: ServicesDep) -> User | None:
    """The authenticated user, or None for an anonymous request (public endpoints)."""
    try:
        return current_user(request, services)
    except OpenEOError:
        return None


def api_url(request: Request, services: Services, path: str = "") -> str:
    """Absolute URL of an API path, on the configured public URL if any."""
    base = services.settings.public_url or str(request.base_url)
    return base.rstrip("/") + API_PREFIX + path

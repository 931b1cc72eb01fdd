"""Settings: one object, read once (environment prefix ``EOSTATION_``) and handed down."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "CatalogSettings",
    "DaskSettings",
    "IssuerSettings",
    "JobSettings",
    "LimitSettings",
    "ODataSettings",
    "OidcProvider",
    "RateLimitSettings",
    "Settings",
    "StorageSettings",
    "read_or_create_secret",
]


class OidcProvider(BaseModel):
    """An OpenID Connect issuer whose access tokens the server accepts."""

    id: str = Field(pattern=r"^[\w]+$")
    issuer: str
    title: str = "OpenID Connect"
    scopes: list[str] = ["openid"]
    audience: str | None = None
    default_client_id: str | None = None


class JobSettings(BaseModel):
    """Batch jobs: ``EOSTATION_JOBS__RETENTION_DAYS=7`` and so on."""

    retention_days: float = 30.0
    storage_quota_bytes: int | None = 20 * 1024**3
    heartbeat_seconds: float = 1.0
    stale_after_seconds: float = 30.0
    max_attempts: int = 3
    poll_seconds: float = 0.1
    link_ttl_seconds: int = 7 * 24 * 3600
    warm_up: bool = True
    """Compute a tiny graph when a runner starts, so that the first job is as fast as later
    ones (imports, GDAL, Dask workers warmed: eostation.jobs.warmup)."""
    ready_wait_seconds: float = 120.0
    """With ``warm_up``, how long ``eostation serve`` waits for its first runner to be warm
    before it answers requests, so that a job submitted at once does not wait for the
    runner's start-up; ``0``: answer at once."""
    runner_nice: int = Field(default=10, ge=0, le=19)
    """Unix nice value of runners and eostation's Dask workers (and what they start), so
    that the API gets a core before batch work does: status polls stay fast while jobs
    run (``0``: same priority as the API; an idle machine runs jobs as fast either way)."""


class RateLimitSettings(BaseModel):
    """Rate limits per API replica: ``EOSTATION_RATE_LIMITS__JOBS_PER_MINUTE=120`` and so on.

    Each limit is a token bucket per user and per client IP (the IP limit is twice the
    user limit, as several people may share one address). ``0`` switches a limit off.
    """

    logins_per_minute: int = 60
    """Password checks per client IP (successful or not)."""
    login_failures: int = 5
    """Wrong passwords for one account before each further try must wait (doubling, from 1 s)."""
    login_backoff_max_seconds: float = 300.0
    jobs_per_minute: int = 120
    """``POST /jobs`` per user."""
    sync_per_minute: int = 60
    """``POST /result`` per user."""


class ODataSettings(BaseModel):
    """The OData catalogue (``/odata/v1``): ``EOSTATION_ODATA__PRODUCT_MAX_PIXELS=256``."""

    #: Demo products cover at most this many pixels per side of their grid, around the
    #: footprint's centre (a full S3 frame is 1800², an S2 tile 10980²); 0: no limit.
    product_max_pixels: int = Field(default=1024, ge=0)
    #: Where built product zips are kept (default: ``<data dir>/odata``).
    cache_dir: Path | None = None


class IssuerSettings(BaseModel):
    """eostation's own OpenID Connect issuer: ``EOSTATION_ISSUER__AUDIENCE=...`` and so on."""

    # CDSE's access tokens carry this audience and eodag checks it, so scripts written for
    # CDSE accept eostation's tokens unchanged.
    audience: str = "CLOUDFERRO_PUBLIC"
    access_ttl_seconds: int = 600
    refresh_ttl_seconds: int = 7 * 24 * 3600
    # PEM of the RSA signing key; give the same one to every API replica. Generated once
    # in the data dir when unset.
    private_key: str | None = None


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """The text of a secret file, created once with mode 0600 (``make`` gives its content).

    Creation is atomic and never replaces an existing file, so processes starting at the
    same time (API, runners) all end up with the same secret.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make())
        try:
            os.link(tmp, path)  # fails if another process created it first: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


class CatalogSettings(BaseModel):
    """The items catalogue and STAC API: ``EOSTATION_CATALOG__ASSET_CACHE_BYTES=…`` and so on."""

    #: Disk space for rendered demo-asset (COG) tiles under ``data_dir/asset-cache``.
    asset_cache_bytes: int = 2 * 1024**3
    #: Where the items index lives: ``auto`` is pgstac on the PostgreSQL server of
    #: ``database_url`` (PostGIS needed) and ``data_dir/items.db`` on SQLite; ``sqlite``
    #: keeps the SQLite file even on PostgreSQL (docs/stac.md).
    index: Literal["auto", "sqlite", "pgstac"] = "auto"


class DashboardSettings(BaseModel):
    """The web dashboard at ``/``: ``EOSTATION_DASHBOARD__BASE_MAP_URL=…`` (``docs/dashboard.md``)."""

    base_map_url: str | None = None
    """XYZ template of an online base map (``https://…/{z}/{x}/{y}.png``); None: only the
    shipped offline world layer, so the page loads nothing from outside the server."""
    base_map_attribution: str = ""
    """Attribution shown under that online base map."""


class DaskSettings(BaseModel):
    """Dask workers (``eostation dask-worker`` and the local cluster of ``eostation serve``):
    ``EOSTATION_DASK__MEMORY_LIMIT=8GiB`` and so on (``docs/deployment.md``)."""

    memory_limit: str = "auto"
    """Memory of each worker process (``4GiB``, ``0.5`` of the machine, ``auto``: an equal
    share); Dask spills to disk from 60 %, pauses at 80 % and restarts the worker at 95 %."""
    spill_dir: Path | None = None
    """Where workers spill (default: ``<data dir>/dask-worker-space``); a local disk."""
    threads: int | None = None
    """Threads per worker process (None: Dask's default, the cores divided by the processes)."""
    processes: int = 1
    """Worker processes one ``eostation dask-worker`` starts."""


class StorageSettings(BaseModel):
    """Where job results live: ``EOSTATION_STORAGE__RESULTS_URL=s3://bucket/prefix`` and so on."""

    results_url: str | None = None
    """An fsspec URL (``s3://bucket/prefix``, ``file:///shared/results``); None: ``<data dir>/jobs``."""
    options: dict[str, Any] = {}
    """fsspec storage options as JSON, e.g. ``{"endpoint_url": "http://minio:9000", "key": "…", "secret": "…"}``."""
    retry_seconds: Annotated[float, Field(ge=0)] = 30.0
    """How long a failing upload or delete is retried before the job fails with the reason."""
    archive_url: str | None = None
    """The default HEALPix/Zarr archive of ``eostation archive``: a path or fsspec URL
    (``s3://bucket/archive.zarr``, opened with ``options``); None: ``<data dir>/archive.zarr``."""


class LimitSettings(BaseModel):
    """Engine limits: ``EOSTATION_LIMITS__GRAPH_MAX_NODES=20000`` and so on (``docs/security.md``)."""

    graph_max_nodes: Annotated[int, Field(ge=1)] = 10_000
    graph_max_depth: Annotated[int, Field(ge=1)] = 100
    graph_max_evaluations: Annotated[int, Field(ge=1)] = 1_000_000
    udf_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    udf_cpu_seconds: Annotated[int, Field(ge=1)] = 60
    udf_memory_mb: Annotated[int, Field(ge=64)] = 4096
    udf_max_processes: Annotated[int, Field(ge=1)] = 16
    udf_exchange_mb: Annotated[int | None, Field(ge=1)] = None
    """Most a UDF worker may hold in its exchange folder on ``/dev/shm`` (memory) at once:
    a call's input and output and whatever the UDF writes there. Unset: an eighth of the
    free space where the folders go, measured when the worker starts."""
    load_url_max_bytes: Annotated[int, Field(ge=1)] = 2 * 1024**3
    concurrent_requests: Annotated[int, Field(ge=1)] = 2
    """``/result`` requests evaluated at once (threads), and as many worker processes for
    ``/estimate`` and ``/validation``; more requests wait."""


class Settings(BaseSettings):
    """Everything configurable. Nested values use ``__``: ``EOSTATION_LIMITS__CONCURRENT_JOBS``."""

    model_config = SettingsConfigDict(
        env_prefix="EOSTATION_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("eostation")))
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    title: str = "eostation"
    secret_key: str | None = None
    token_ttl_seconds: int = 24 * 3600
    oidc_providers: list[OidcProvider] = []
    runners: int | None = None
    """Runner processes ``eostation serve`` starts; None: ``concurrent_jobs`` of them."""
    dask_workers: int | None = None
    dask_scheduler: str | None = None
    concurrent_jobs: int = 2
    sync_max_pixels: int = 200_000_000
    udf: Literal["auto", "on", "off"] = "auto"
    limits: LimitSettings = LimitSettings()
    outbound_allow: str = ""
    """Hosts and CIDRs (comma-separated) that server-side requests may reach although
    they are internal (loopback, private, link-local ...), e.g. ``127.0.0.0/8,stac.lan``."""
    sync_timeout_seconds: float = 300.0
    jobs: JobSettings = JobSettings()
    catalog: CatalogSettings = CatalogSettings()
    odata: ODataSettings = ODataSettings()
    cors_origins: list[str] = ["*"]
    max_request_bytes: int = 4 * 1024**2
    """Largest request body accepted (413 above); process graphs are rarely over 100 kB."""
    rate_limits: RateLimitSettings = RateLimitSettings()
    db_busy_seconds: float = 10.0
    """How long a database write retries while other writers hold the lock, before 503."""
    storage: StorageSettings = StorageSettings()

    @property
    def runner_count(self) -> int:
        """How many runners ``eostation serve`` starts: by default as many as one user may
        run jobs at once (``concurrent_jobs``, advertised in ``/me``), so that a user's
        jobs up to that limit really run side by side. ``runners = 0`` starts none (the
        jobs then run on ``eostation worker`` processes)."""
        return self.runners if self.runners is not None else self.concurrent_jobs

    # Host names (besides loopback names and the public URL's) that requests may address.
    allowed_hosts: list[str] = []
    issuer: IssuerSettings = IssuerSettings()
    dashboard: DashboardSettings = DashboardSettings()
    dask: DaskSettings = DaskSettings()

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: the configured one, else a SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'eostation.db'}"

    @property
    def base_url(self) -> str:
        """Public root URL of the server, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_data_dir(self) -> Path:
        """Create the data dir (mode 0700: it holds the database, secrets and results) and return it."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.data_dir.stat().st_mode & 0o077:
            self.data_dir.chmod(0o700)
        return self.data_dir

    def udf_enabled(self) -> bool:
        """Whether the setting allows ``run_udf`` to run user code (``udf``: ``off``, or
        ``auto``/``on``: on for every user wherever the UDF sandbox can be built).

        This is the only place that reads the setting (through
        :meth:`eostation.engine.limits.EngineLimits.from_settings`); ``run_udf`` adds the
        sandbox check, so UDFs are off where the sandbox cannot be built (default deny).
        """
        return self.udf != "off"

    def signing_key(self) -> bytes:
        """The key for tokens and signed links: configured, or generated once and kept in the data dir."""
        if self.secret_key:
            # Hashed so that any configured string gives a full-length HMAC key.
            return hashlib.sha256(self.secret_key.encode()).digest()
        path = self.ensure_data_dir() / "secret.key"
        return read_or_create_secret(path, lambda: secrets.token_hex(32)).encode()

    def local_secret(self) -> str:
        """The start-up secret of local mode: the password of the user ``local`` (file ``local.secret``)."""
        path = self.ensure_data_dir() / "local.secret"
        return read_or_create_secret(path, lambda: secrets.token_urlsafe(18))

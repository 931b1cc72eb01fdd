"""Rate limits on logins, job creation and synchronous processing.

Each limit is a token bucket (``limit`` requests per minute, refilled continuously, a
burst of up to ``limit``) kept per user and per client IP; the IP bucket holds twice
as many tokens as the user bucket because several people may share one address. An
exhausted bucket raises :class:`~eostation.errors.TooManyRequests` (429) whose
``Retry-After`` says when the next token arrives.

Logins have a second guard, a back-off per account: after
``rate_limits.login_failures`` wrong passwords in a row, every further attempt for that
account must wait 1 s, then 2 s, 4 s … (up to ``login_backoff_max_seconds``) after the
previous failure; a successful login resets it. Rejected attempts never reach the
password hash, so a flood costs almost nothing.

Counters live in memory, per API replica (documented in ``docs/security.md``): with N
replicas behind a load balancer a client gets up to N times the limits.

Use from routes::

    user: CurrentUser, _: Annotated[None, Depends(limit_job_creation)]

and for any endpoint that checks a password (``/credentials/basic``, an OIDC token
endpoint)::

    with login_limiter(request).attempt(client_ip(request), account):
        ...  # raise CredentialsInvalid on a wrong password
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from eostation.api.deps import CurrentUser
from eostation.config import RateLimitSettings
from eostation.errors import CredentialsInvalid, TooManyRequests

__all__ = [
    "LoginLimiter",
    "RateLimiter",
    "TokenBuckets",
    "client_ip",
    "limit_job_creation",
    "limit_sync_processing",
    "login_limiter",
]

# Keys kept per bucket family; the least recently used are forgotten beyond this, so a
# flood from many addresses cannot grow memory without bound.
_MAX_KEYS: Final = 100_000


class TokenBuckets:
    """Token buckets of one kind, keyed by user or IP; thread-safe."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - last) * self.rate)

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` has a token (0: now), without taking it."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``; returns 0, or the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, now)
            self._buckets.pop(key, None)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > _MAX_KEYS:
                self._buckets.popitem(last=False)
        return wait


@dataclass
class _Failures:
    count: int
    last: float


class LoginLimiter:
    """Per-IP rate of password checks plus a per-account back-off after wrong passwords."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self.per_ip = TokenBuckets(settings.logins_per_minute)
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def backoff(self, account: str, now: float | None = None) -> float:
        """Seconds until ``account`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        free = self.settings.login_failures
        with self._lock:
            failed = self._failures.get(account)
        if free <= 0 or failed is None or failed.count < free:
            return 0.0
        delay = min(self.settings.login_backoff_max_seconds, 2.0 ** (failed.count - free))
        return max(0.0, failed.last + delay - now)

    def check(self, ip: str, account: str) -> None:
        """Raise :class:`TooManyRequests` if this attempt must wait; counts it for ``ip``."""
        wait = self.backoff(account)
        if wait > 0:
            raise TooManyRequests(
                what=f"failed logins for account '{account}'",
                limit=f"{self.settings.login_failures} before waiting, doubling after each",
                retry_after=wait,
            )
        wait = self.per_ip.take(ip)
        if wait > 0:
            raise TooManyRequests(
                what=f"logins from {ip}",
                limit=f"{self.settings.logins_per_minute} per minute",
                retry_after=wait,
            )

    def failed(self, account: str) -> None:
        """Record a wrong password for ``account``."""
        with self._lock:
            entry = self._failures.pop(account, None) or _Failures(0, 0.0)
            self._failures[account] = _Failures(entry.count + 1, time.monotonic())
            while len(self._failures) > _MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        """Forget the failures of ``account``."""
        with self._lock:
            self._failures.pop(account, None)

    @contextmanager
    def attempt(self, ip: str, account: str) -> Iterator[None]:
        """Guard one password check by client ``ip`` for ``account`` (the name tried).

        Raises :class:`TooManyRequests` (429, ``Retry-After``) before the check when the
        IP sent too many logins or the account is backing off; otherwise runs the body,
        which raises :class:`CredentialsInvalid` for a wrong password (recorded as a
        failure of ``account``) or returns normally (the account's failures reset).
        """
        self.check(ip, account)
        try:
            yield
        except CredentialsInvalid:
            self.failed(account)
            raise
        self.succeeded(account)


class RateLimiter:
    """All rate limits of one API replica (``app.state.rate_limiter``)."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self.login = LoginLimiter(settings)
        self.jobs_user = TokenBuckets(settings.jobs_per_minute)
        self.jobs_ip = TokenBuckets(2 * settings.jobs_per_minute)
        self.sync_user = TokenBuckets(settings.sync_per_minute)
        self.sync_ip = TokenBuckets(2 * settings.sync_per_minute)

    @staticmethod
    def _enforce(what: str, per_minute: int, *checks: tuple[TokenBuckets, str]) -> None:
        # A refused request takes no token, so it does not prolong the wait of others.
        wait = max(buckets.wait(key) for buckets, key in checks)
        if wait == 0:
            wait = max(buckets.take(key) for buckets, key in checks)
        if wait > 0:
            raise TooManyRequests(what=what, limit=f"{per_minute} per minute", retry_after=wait)

    def job_creation(self, ip: str, user_id: str) -> None:
        """Count one ``POST /jobs``; raises :class:`TooManyRequests` over the limit."""
        limit = self.settings.jobs_per_minute
        self._enforce("batch jobs created", limit, (self.jobs_user, user_id), (self.jobs_ip, ip))

    def sync_processing(self, ip: str, user_id: str) -> None:
        """Count one ``POST /result``; raises :class:`TooManyRequests` over the limit."""
        limit = self.settings.sync_per_minute
        self._enforce(
            "synchronous processing requests", limit, (self.sync_user, user_id), (self.sync_ip, ip)
        )


def client_ip(request: Request) -> str:
    """The peer address of the request (proxies' ``X-Forwarded-For`` is not trusted)."""
    return request.client.host if request.client else "unknown"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def login_limiter(request: Request) -> LoginLimiter:
    """The login limiter of the app serving ``request``: ``attempt(ip, account)`` guards a check."""
    return _limiter(request).login


def limit_job_creation(request: Request, user: CurrentUser) -> None:
    """Dependency: per-user and per-IP rate limit of batch job creation."""
    _limiter(request).job_creation(client_ip(request), user.user_id)


def limit_sync_processing(request: Request, user: CurrentUser) -> None:
    """Dependency: per-user and per-IP rate limit of synchronous processing."""
    _limiter(request).sync_processing(client_ip(request), user.user_id)

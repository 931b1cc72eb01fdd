"""Authentication: local mode, HTTP Basic tokens and OpenID Connect bearer tokens.

No web imports: the API hands in the ``Authorization`` header value and gets a
:class:`~eostation.users.User` back, or an :class:`~eostation.errors.OpenEOError`.

- Local mode: the server is bound to loopback and neither password users nor external
  OIDC providers are configured (the built-in issuer does not count). Requests without
  credentials then act as ``local`` unless a web page could have sent them (the API
  says so with ``browser=True``); those must log in as ``local`` with the start-up
  secret (:meth:`Settings.local_secret`).
- Basic: ``GET /credentials/basic`` checks the password and returns a signed token
  (HS256 JWT, stateless so every API replica accepts it); clients send it back as
  ``Bearer basic//<token>``.
- OIDC: ``Bearer oidc/<provider>/<access token>``; JWT access tokens are verified
  against the issuer's JWKS (signature, ``iss``, ``exp``, ``aud`` when configured),
  opaque ones are resolved through the issuer's userinfo endpoint. The built-in issuer
  (:mod:`eostation.issuer`, provider id ``CDSE``) is verified with its own key, and its
  tokens are also accepted without prefix (``Bearer <jwt>``, as STAC and OData clients
  send them): :meth:`Authenticator.authenticate_bearer`.

Every token carries the account's *stamp* (a hash of its password hash), so a password
change or removal revokes the tokens issued before.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from typing import Any

import httpx
import jwt

from eostation.config import OidcProvider, Settings
from eostation.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
    TokenInvalid,
)
from eostation.issuer import BUILTIN_PROVIDER_ID, TokenIssuer
from eostation.users import User, UserStore, safe_user_id

__all__ = ["LOCAL_USER", "Authenticator", "bind_refusal", "is_loopback"]

LOCAL_USER = User(user_id="local", name="Local user", method="local")
_ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _OidcVerifier:
    """Verifies access tokens of one OIDC provider; discovery and keys are cached."""

    def __init__(self, provider: OidcProvider, http: httpx.Client) -> None:
        self.provider = provider
        self._http = http
        self._lock = threading.Lock()
        self._config: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    def _discovery(self) -> dict[str, Any]:
        with self._lock:
            if self._config is None:
                url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    resp = self._http.get(url)
                    resp.raise_for_status()
                    self._config = resp.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise TokenInvalid(
                        reason=f"the OIDC provider '{self.provider.id}' is unreachable: {exc}"
                    ) from None
                self._jwks = jwt.PyJWKClient(
                    self._config["jwks_uri"], cache_keys=True, lifespan=3600
                )
            return self._config

    def verify(self, token: str) -> User:
        config = self._discovery()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return self._userinfo(config, token)
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key(header.get("kid", ""))
            claims = jwt.decode(
                token,
                key.key,
                algorithms=_ALGORITHMS,
                issuer=self.provider.issuer.rstrip("/"),
                audience=self.provider.audience,
                options={
                    "verify_aud": self.provider.audience is not None,
                    "require": ["exp", "sub"],
                },
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid(reason="the OIDC access token has expired") from None
        except jwt.PyJWKClientError as exc:
            raise TokenInvalid(reason=f"no signing key for this token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(reason=f"the OIDC access token is not valid: {exc}") from None
        return _user_from_claims(claims)

    def _userinfo(self, config: dict[str, Any], token: str) -> User:
        endpoint = config.get("userinfo_endpoint")
        if not endpoint:
            raise TokenInvalid(
                reason="the access token is not a JWT and the provider has no userinfo endpoint"
            )
        try:
            resp = self._http.get(endpoint, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise TokenInvalid(reason=f"the userinfo endpoint is unreachable: {exc}") from None
        if resp.status_code != 200:
            raise TokenInvalid(reason="the OIDC provider rejected the access token")
        return _user_from_claims(resp.json())


def _user_from_claims(claims: dict[str, Any]) -> User:
    name = claims.get("name") or claims.get("preferred_username") or claims.get("email")
    return User(user_id=safe_user_id(str(claims["sub"])), name=name, method="oidc")


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`User`."""

    def __init__(
        self, settings: Settings, users: UserStore, http: httpx.Client | None = None
    ) -> None:
        self._settings = settings
        self._users = users
        self._key = settings.signing_key()
        # Only external OIDC providers are contacted over HTTP; without them no client is
        # made (building one loads the CA bundle, ~30 ms of CPU for every app).
        self._http = http
        self._oidc: dict[str, _OidcVerifier] = {}
        if settings.oidc_providers:
            client = self._http = http or httpx.Client(timeout=10.0)
            self._oidc = {p.id: _OidcVerifier(p, client) for p in settings.oidc_providers}
        self.issuer = TokenIssuer(settings, self)

    @property
    def oidc_providers(self) -> list[OidcProvider]:
        """The configured (external) OIDC providers, default first."""
        return list(self._settings.oidc_providers)

    @property
    def builtin_provider_id(self) -> str | None:
        """The provider id of the built-in issuer, None when an external provider took it."""
        return None if BUILTIN_PROVIDER_ID in self._oidc else BUILTIN_PROVIDER_ID

    def auth_configured(self) -> bool:
        """Whether any password user or external OIDC provider exists."""
        return bool(self._oidc) or self._users.count() > 0

    def local_mode(self) -> bool:
        """True when the local user exists: loopback bind, no password users, no external OIDC."""
        return is_loopback(self._settings.host) and not self.auth_configured()

    def local_secret(self) -> str:
        """The start-up secret: the password of the user ``local``."""
        return self._settings.local_secret()

    # -- accounts (also what the built-in issuer needs: eostation.issuer.Accounts) -------

    def verify_password(self, user_id: str, password: str) -> User:
        """The account if the password is right (``local`` with the start-up secret in local mode)."""
        if user_id == LOCAL_USER.user_id and self.local_mode():
            if hmac.compare_digest(password.encode(), self.local_secret().encode()):
                return LOCAL_USER
            raise CredentialsInvalid()
        return self._users.verify(user_id, password)

    def token_stamp(self, user_id: str) -> str | None:
        """Changes whenever the account's password does; None when there is no such account."""
        if user_id == LOCAL_USER.user_id and self.local_mode():
            return hashlib.sha256(b"local:" + self.local_secret().encode()).hexdigest()[:16]
        return self._users.token_stamp(user_id)

    def auto_approved_user(self) -> User | None:
        """Device logins from this machine are approved for ``local`` in local mode."""
        return LOCAL_USER if self.local_mode() else None

    def approve_device(self, user_code: str, user: User, expires: float) -> None:
        """Record a device login approved on the verification page."""
        self._users.approve_device(user_code, user.user_id, expires)

    def take_device_approval(self, user_code: str) -> User | None:
        """Who approved ``user_code``, once."""
        user_id = self._users.take_device_approval(user_code, time.time())
        if user_id == LOCAL_USER.user_id and self.local_mode():
            return LOCAL_USER
        return None if user_id is None else self._users.get(user_id)

    # -- tokens ---------------------------------------------------------------------------

    def issue_basic_token(self, user: User) -> str:
        """A signed access token for a password user (or ``local``)."""
        now = int(time.time())
        claims = {
            "sub": user.user_id,
            "iat": now,
            "exp": now + self._settings.token_ttl_seconds,
            "typ": "basic",
            "stm": self.token_stamp(user.user_id),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def authenticate(self, authorization: str | None, *, browser: bool = False) -> User:
        """The user behind a header value; raises the matching openEO error otherwise.

        Without credentials the local user is returned in local mode, except when
        ``browser`` says a web page could have sent the request: any page could then
        act as the user, so it must log in like everyone else.
        """
        if not authorization:
            if self.local_mode() and not browser:
                return LOCAL_USER
            raise AuthenticationRequired()
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationSchemeInvalid(reason=f"use 'Bearer', not '{scheme}'")
        credentials = credentials.strip()
        method, _, rest = credentials.partition("/")
        if method == "basic":
            return self._verify_basic(rest.removeprefix("/"))
        if method == "oidc":
            provider, _, token = rest.partition("/")
            if provider == self.builtin_provider_id:
                return self.authenticate_bearer(token)
            verifier = self._oidc.get(provider)
            if verifier is None:
                raise AuthenticationSchemeInvalid(reason=f"unknown OIDC provider '{provider}'")
            return verifier.verify(token)
        if not rest:
            return self.authenticate_bearer(credentials)
        raise AuthenticationSchemeInvalid(
            reason="bearer tokens are 'basic//<token>', 'oidc/<provider>/<token>' "
            "or an access token of this server's issuer"
        )

    def authenticate_bearer(self, token: str) -> User:
        """The user behind an access token of the built-in issuer (``Bearer <jwt>`` on STAC/OData)."""
        claims = self.issuer.verify_access_token(token)
        if claims["sub"] == LOCAL_USER.user_id and self.local_mode():
            return LOCAL_USER
        user = self._users.get(str(claims["sub"]))
        if user is None:
            raise TokenInvalid(reason="the user of this token no longer exists")
        return User(user_id=user.user_id, name=user.name, method="oidc")

    def _verify_basic(self, token: str) -> User:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid(reason="the token has expired") from None
        except jwt.InvalidTokenError:
            raise TokenInvalid(
                reason="the token is malformed or its signature does not match"
            ) from None
        if claims["sub"] == LOCAL_USER.user_id and self.local_mode():
            self._check_stamp(claims, self.token_stamp(LOCAL_USER.user_id))
            return LOCAL_USER
        # The account and its stamp in one query: this runs on every authenticated request.
        account = self._users.account(claims["sub"])
        if account is None:
            raise TokenInvalid(reason="the user of this token no longer exists")
        user, stamp = account
        self._check_stamp(claims, stamp)
        return user

    @staticmethod
    def _check_stamp(claims: dict[str, Any], stamp: str | None) -> None:
        if claims.get("stm") != stamp:
            raise TokenInvalid(reason="the token was revoked (password changed)")

    def close(self) -> None:
        """Release the HTTP client."""
        if self._http is not None:
            self._http.close()


def bind_refusal(host: str, auth: Authenticator) -> str | None:
    """Why the server must not listen on ``host`` (nobody would need to log in), or None."""
    if is_loopback(host) or auth.auth_configured():
        return None
    return (
        f"refusing to listen on {host} without authentication: anyone on the network could use this "
        "server. Add a user with 'eostation users add NAME', configure an OIDC provider "
        "(EOSTATION_OIDC_PROVIDERS), or bind to 127.0.0.1."
    )

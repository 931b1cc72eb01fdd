"""Authentication: local mode, HTTP Basic tokens and OpenID Connect bearer tokens.

No web imports: the API hands in the ``Authorization`` header value and gets a
:class:`~eostation.users.User` back, or an :class:`~eostation.errors.OpenEOError`.

- Local mode: the server is bound to loopback and neither password users nor OIDC
  providers are configured. Requests without credentials then act as ``local``.
- Basic: ``GET /credentials/basic`` checks the password and returns a signed token
  (HS256 JWT, stateless so every API replica accepts it); clients send it back as
  ``Bearer basic//<token>``.
- OIDC: ``Bearer oidc/<provider>/<access token>``; JWT access tokens are verified
  against the issuer's JWKS (signature, ``iss``, ``exp``, ``aud`` when configured),
  opaque ones are resolved through the issuer's userinfo endpoint.
"""

from __future__ import annotations

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
    TokenInvalid,
)
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
        self._http = http or httpx.Client(timeout=10.0)
        self._oidc = {p.id: _OidcVerifier(p, self._http) for p in settings.oidc_providers}

    @property
    def oidc_providers(self) -> list[OidcProvider]:
        """The configured OIDC providers, default first."""
        return list(self._settings.oidc_providers)

    def auth_configured(self) -> bool:
        """Whether any password user or OIDC provider exists."""
        return bool(self._oidc) or self._users.count() > 0

    def local_mode(self) -> bool:
        """True when unauthenticated requests act as the local user."""
        return is_loopback(self._settings.host) and not self.auth_configured()

    def issue_basic_token(self, user: User) -> str:
        """A signed access token for a password user."""
        now = int(time.time())
        claims = {
            "sub": user.user_id,
            "iat": now,
            "exp": now + self._settings.token_ttl_seconds,
            "typ": "basic",
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def authenticate(self, authorization: str | None) -> User:
        """The user behind a header value; raises the matching openEO error otherwise."""
        if not authorization:
            if self.local_mode():
                return LOCAL_USER
            raise AuthenticationRequired()
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationSchemeInvalid(reason=f"use 'Bearer', not '{scheme}'")
        method, _, rest = credentials.strip().partition("/")
        if method == "basic":
            return self._verify_basic(rest.removeprefix("/"))
        if method == "oidc":
            provider, _, token = rest.partition("/")
            verifier = self._oidc.get(provider)
            if verifier is None:
                raise AuthenticationSchemeInvalid(reason=f"unknown OIDC provider '{provider}'")
            return verifier.verify(token)
        raise AuthenticationSchemeInvalid(
            reason="bearer tokens start with 'basic//' or 'oidc/<provider>/'"
        )

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
        user = self._users.get(claims["sub"])
        if user is None:
            raise TokenInvalid(reason="the user of this token no longer exists")
        return user

    def close(self) -> None:
        """Release the HTTP client."""
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

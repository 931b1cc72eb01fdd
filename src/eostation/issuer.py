"""eostation's own OpenID Connect issuer: signed RS256 access tokens for its accounts.

It lives at CDSE's paths (``{base}/auth/realms/CDSE``, client id ``cdse-public``) so
that scripts written for CDSE only change the host. No web imports: the routes in
``api/routes/issuer.py`` hand in the form fields and get JSON-ready dicts back, or an
:class:`OAuthError` that ``api/handlers.py`` renders as an OAuth2 error body.

Everything is stateless so that several API replicas sharing the key (setting
``EOSTATION_ISSUER__PRIVATE_KEY``) accept each other's tokens: access, refresh and
device codes are all JWTs signed with the one key, told apart by their ``typ``. Each
carries the account's *token stamp* (``stm``), which changes with the password, so a
password change or a removed account revokes every token issued before.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from eostation.config import Settings, read_or_create_secret
from eostation.errors import CredentialsInvalid, TokenInvalid
from eostation.users import User

__all__ = [
    "BUILTIN_PROVIDER_ID",
    "DEVICE_PAGE",
    "GRANT_DEVICE_CODE",
    "ISSUER_PATH",
    "PUBLIC_CLIENT_ID",
    "Accounts",
    "OAuthError",
    "TokenIssuer",
]

BUILTIN_PROVIDER_ID: Final = "CDSE"
ISSUER_PATH: Final = "/auth/realms/CDSE"
PUBLIC_CLIENT_ID: Final = "cdse-public"
GRANT_DEVICE_CODE: Final = "urn:ietf:params:oauth:grant-type:device_code"
_GRANTS: Final = ("password", "refresh_token", "client_credentials", GRANT_DEVICE_CODE)
_DEVICE_TTL: Final = 300
_USER_CODE: Final = re.compile(r"[0-9A-F]{8}")
DEVICE_PAGE: Final = "/device"


class OAuthError(Exception):
    """An OAuth2 error (RFC 6749 §5.2): ``{"error": …, "error_description": …}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def to_dict(self) -> dict[str, str]:
        """The OAuth2 error body."""
        return {"error": self.error, "error_description": self.description}


class Accounts(Protocol):
    """What the issuer needs to know about accounts (implemented by ``auth.Authenticator``)."""

    def verify_password(self, user_id: str, password: str) -> User:
        """The account, if the password is right; raises ``CredentialsInvalid`` otherwise."""

    def token_stamp(self, user_id: str) -> str | None:
        """A value that changes whenever the account's password does; None: no such account."""

    def auto_approved_user(self) -> User | None:
        """The account that device logins on this machine get without asking (local mode)."""

    def approve_device(self, user_code: str, user: User, expires: float) -> None:
        """Record that ``user`` approved the device login ``user_code``."""

    def take_device_approval(self, user_code: str) -> User | None:
        """Who approved ``user_code`` (consumed: a second call gives None)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """Issues and verifies the built-in issuer's tokens."""

    def __init__(self, settings: Settings, accounts: Accounts) -> None:
        self._app_settings = settings
        self._settings = settings.issuer
        self._accounts = accounts
        self._lock = threading.Lock()
        # A configured key is checked at start; a generated one is made on first use,
        # because that takes a noticeable fraction of a second and most runs never need it.
        # Empty counts as unset: a Compose file passes `${VAR}` through even when it is blank.
        pem = self._settings.private_key or None
        self._loaded = None if pem is None else _load_key(pem)

    def _key(self) -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
        """The signing key and its public JWK (with ``kid``)."""
        with self._lock:
            if self._loaded is None:
                path = self._app_settings.ensure_data_dir() / "issuer-key.pem"
                self._loaded = _load_key(read_or_create_secret(path, _new_key_pem))
            return self._loaded

    @property
    def audience(self) -> str:
        """The ``aud`` of every access token."""
        return self._settings.audience

    def discovery(self, issuer: str) -> dict[str, Any]:
        """The OpenID Connect discovery document of ``issuer`` (its URL as clients see it)."""
        oidc = issuer + "/protocol/openid-connect"
        return {
            "issuer": issuer,
            "token_endpoint": oidc + "/token",
            # REQUIRED by OIDC Discovery (eodag reads it); it answers unsupported_response_type.
            "authorization_endpoint": oidc + "/auth",
            "device_authorization_endpoint": oidc + "/auth/device",
            "jwks_uri": oidc + "/certs",
            "userinfo_endpoint": oidc + "/userinfo",
            "grant_types_supported": list(_GRANTS),
            "response_types_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256", "plain"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "preferred_username"],
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set (``jwks_uri``)."""
        return {"keys": [dict(self._key()[1])]}

    # -- token endpoint ---------------------------------------------------------------

    def token(
        self, issuer: str, form: Mapping[str, str], client: tuple[str, str] | None
    ) -> dict[str, Any]:
        """Answer a token request: ``form`` holds the POSTed fields, ``client`` the HTTP Basic pair."""
        client_id, client_secret = client or (form.get("client_id", ""), form.get("client_secret"))
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            # A script's client id and secret are an account name and its password.
            if not client_id or not client_secret:
                raise OAuthError("invalid_client", "client_id and client_secret are required", 401)
            user = self._login(client_id, client_secret, error="invalid_client", status=401)
            return self._tokens(issuer, user, client_id, form.get("scope", ""), refresh=False)
        if client_id != PUBLIC_CLIENT_ID:
            raise OAuthError(
                "invalid_client",
                f"unknown client '{client_id}': use '{PUBLIC_CLIENT_ID}' (or your account name "
                "and password with the client_credentials grant)",
                401,
            )
        scope = form.get("scope", "")
        if grant == "password":
            user = self._login(form.get("username", ""), form.get("password", ""))
            return self._tokens(issuer, user, client_id, scope)
        if grant == "refresh_token":
            claims = self._decode(form.get("refresh_token", ""), "Refresh", "refresh token")
            user = self._current(claims, "refresh token")
            return self._tokens(issuer, user, client_id, str(claims.get("scope", scope)))
        if grant == GRANT_DEVICE_CODE:
            claims = self._decode(form.get("device_code", ""), "Device", "device code")
            _check_pkce(claims, form.get("code_verifier"))
            if "sub" in claims:  # approved when it was issued (local mode)
                user = self._current(claims, "device code")
            else:
                approved = self._accounts.take_device_approval(str(claims.get("uc")))
                if approved is None:
                    raise OAuthError(
                        "authorization_pending",
                        "the login has not been approved yet on the verification page",
                    )
                user = approved
            return self._tokens(issuer, user, client_id, str(claims.get("scope", scope)))
        raise OAuthError(
            "unsupported_grant_type",
            f"grant_type '{grant}' is not supported; use one of {', '.join(_GRANTS)}",
        )

    def device_authorization(
        self, issuer: str, form: Mapping[str, str], trusted: bool
    ) -> dict[str, Any]:
        """Start a device login (RFC 8628).

        When ``trusted`` (the request comes from this machine and no web page could have
        sent it, see ``api/guard.py``) and the server is in local mode, the login is
        approved at once for ``local``. Otherwise the user approves it on the
        verification page with an account name and password.
        """
        if form.get("client_id") != PUBLIC_CLIENT_ID:
            raise OAuthError("invalid_client", f"use client_id '{PUBLIC_CLIENT_ID}'", 401)
        now = int(time.time())
        user_code = secrets.token_hex(4).upper()
        claims: dict[str, Any] = {
            "typ": "Device",
            "uc": user_code,
            "scope": form.get("scope", "openid"),
            "iat": now,
            "exp": now + _DEVICE_TTL,
        }
        user = self._accounts.auto_approved_user() if trusted else None
        if user is not None:
            claims.update(sub=user.user_id, stm=self._accounts.token_stamp(user.user_id))
        if form.get("code_challenge"):
            claims["cc"] = form["code_challenge"]
            claims["ccm"] = form.get("code_challenge_method", "plain")
        verification = issuer + DEVICE_PAGE
        return {
            "device_code": self._sign(claims),
            "user_code": user_code,
            "verification_uri": verification,
            "verification_uri_complete": f"{verification}?user_code={user_code}",
            "expires_in": _DEVICE_TTL,
            "interval": 1,
        }

    def approve_device_login(self, user_code: str, user_id: str, password: str) -> User:
        """Approve a pending device login with an account's password (the verification page).

        Raises ``CredentialsInvalid`` for a wrong password and ``ValueError`` for a
        malformed user code.
        """
        code = user_code.strip().upper()
        if not _USER_CODE.fullmatch(code):
            raise ValueError(f"'{user_code}' is not a user code (8 characters, 0-9 and A-F)")
        user = self._accounts.verify_password(user_id, password)
        self._accounts.approve_device(code, user, time.time() + _DEVICE_TTL)
        return user

    # -- verification -----------------------------------------------------------------

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token of this issuer; raises ``TokenInvalid`` otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key()[0].public_key(),
                algorithms=["RS256"],
                audience=self.audience,
                options={"require": ["exp", "sub", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid(reason="the access token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(reason=f"the access token is not valid: {exc}") from None
        if claims.get("typ") != "Bearer":
            raise TokenInvalid(reason="this is not an access token")
        if self._accounts.token_stamp(str(claims["sub"])) != claims.get("stm"):
            raise TokenInvalid(reason="the token was revoked (password changed or account removed)")
        return claims

    # -- internals --------------------------------------------------------------------

    def _login(
        self, user_id: str, password: str, error: str = "invalid_grant", status: int = 400
    ) -> User:
        try:
            return self._accounts.verify_password(user_id, password)
        except CredentialsInvalid:
            raise OAuthError(error, "invalid user credentials", status) from None

    def _decode(self, token: str, typ: str, what: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key()[0].public_key(),
                algorithms=["RS256"],
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError(
                "expired_token" if typ == "Device" else "invalid_grant", f"the {what} has expired"
            ) from None
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", f"the {what} is malformed or not ours") from None
        if claims.get("typ") != typ or (typ != "Device" and "sub" not in claims):
            raise OAuthError("invalid_grant", f"this is not a {what}")
        return claims

    def _current(self, claims: Mapping[str, Any], what: str) -> User:
        """The account behind a refresh token or device code, if it was not revoked since."""
        user_id = str(claims["sub"])
        stamp = self._accounts.token_stamp(user_id)
        if stamp is None or stamp != claims.get("stm"):
            raise OAuthError(
                "invalid_grant", f"the {what} was revoked (password changed or account removed)"
            )
        return User(user_id=user_id, name=claims.get("name"), method="oidc")

    def _tokens(
        self, issuer: str, user: User, client_id: str, scope: str, refresh: bool = True
    ) -> dict[str, Any]:
        now = int(time.time())
        ttl = self._settings.access_ttl_seconds
        common = {
            "iss": issuer,
            "sub": user.user_id,
            "iat": now,
            "azp": client_id,
            "stm": self._accounts.token_stamp(user.user_id),
            "preferred_username": user.user_id,
            "name": user.name or user.user_id,
        }
        scope = " ".join(dict.fromkeys(["openid", *scope.split()]))
        access = {
            **common,
            "typ": "Bearer",
            "aud": self.audience,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
            "scope": scope,
        }
        out: dict[str, Any] = {
            "access_token": self._sign(access),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
            "id_token": self._sign({**common, "typ": "ID", "aud": client_id, "exp": now + ttl}),
        }
        if refresh:
            r_ttl = self._settings.refresh_ttl_seconds
            out["refresh_token"] = self._sign(
                {**common, "typ": "Refresh", "exp": now + r_ttl, "scope": scope}
            )
            out["refresh_expires_in"] = r_ttl
        return out

    def _sign(self, claims: Mapping[str, Any]) -> str:
        key, jwk = self._key()
        return jwt.encode(dict(claims), key, algorithm="RS256", headers={"kid": jwk["kid"]})


def _check_pkce(claims: Mapping[str, Any], verifier: str | None) -> None:
    challenge = claims.get("cc")
    if challenge is None:
        return
    if not verifier:
        raise OAuthError("invalid_grant", "code_verifier is required (PKCE)")
    if claims.get("ccm") == "S256":
        computed = _b64(hashlib.sha256(verifier.encode()).digest())
    else:
        computed = verifier
    if not secrets.compare_digest(computed, str(challenge)):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def _load_key(pem: str) -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except ValueError as exc:
        raise ValueError(f"the issuer's private key is not a readable PEM: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the issuer's private key must be an RSA key")
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    # RFC 7638 thumbprint: the same key gets the same id on every replica.
    canonical = json.dumps(
        {k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True
    )
    jwk.update(kid=_b64(hashlib.sha256(canonical.encode()).digest()), use="sig", alg="RS256")
    return key, jwk


def _new_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

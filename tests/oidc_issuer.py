"""A minimal OpenID Connect issuer on 127.0.0.1 for tests: discovery, JWKS, userinfo."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests import loopback_http


class LocalIssuer:
    """Signs RS256 access tokens and serves what a relying party needs to verify them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.opaque_tokens: dict[str, dict[str, Any]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalIssuer:
        loopback_http.start(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        loopback_http.stop(self._server)

    def token(
        self, sub: str = "auth0|123", expires_in: int = 600, key: Any = None, **claims: Any
    ) -> str:
        """An access token signed with the issuer's key (or ``key`` to forge one)."""
        now = int(time.time())
        payload = {"iss": self.issuer, "sub": sub, "iat": now, "exp": now + expires_in, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": issuer.issuer,
                            "jwks_uri": issuer.issuer + "/jwks",
                            "userinfo_endpoint": issuer.issuer + "/userinfo",
                            "authorization_endpoint": issuer.issuer + "/auth",
                            "token_endpoint": issuer.issuer + "/token",
                        },
                    )
                elif self.path == "/jwks":
                    jwk = json.loads(RSAAlgorithm.to_jwk(issuer.key.public_key()))
                    jwk.update(kid=issuer.kid, use="sig", alg="RS256")
                    self._json(200, {"keys": [jwk]})
                elif self.path == "/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    claims = issuer.opaque_tokens.get(token)
                    self._json(200, claims) if claims else self._json(
                        401, {"error": "invalid_token"}
                    )
                else:
                    self._json(404, {"error": "not found"})

        return Handler

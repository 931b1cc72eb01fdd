"""Users with passwords for HTTP Basic authentication, stored in the shared database."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from eostation.db import metadata
from eostation.errors import CredentialsInvalid, RequestInvalid

__all__ = ["USER_ID_PATTERN", "User", "UserStore", "safe_user_id"]

USER_ID_PATTERN = re.compile(r"^[\w\-.~]+$", re.ASCII)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class User:
    """An authenticated user as the API sees them."""

    user_id: str
    name: str | None = None
    method: str = "local"


def safe_user_id(subject: str) -> str:
    """Map any subject (e.g. an OIDC ``sub`` like ``auth0|123``) to an id matching the API pattern.

    Characters outside ``[A-Za-z0-9_-.]`` become ``~xx`` (hex of each UTF-8 byte), so the
    mapping is reversible and two different subjects never share an id.
    """
    out = []
    for ch in subject:
        if ch.isascii() and (ch.isalnum() or ch in "_-."):
            out.append(ch)
        else:
            out.extend(f"~{b:02x}" for b in ch.encode())
    return "".join(out) or "~"


class UserStore:
    """Create, remove, list and verify password users."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Lower cost than the library default: it is checked on every /credentials/basic call.
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

    def add(self, user_id: str, password: str, name: str | None = None) -> User:
        """Create a user, or change the password and name of an existing one."""
        if not USER_ID_PATTERN.match(user_id):
            raise RequestInvalid(
                reason=f"user id '{user_id}' may only contain letters, digits, '_', '-', '.', '~'"
            )
        if not password:
            raise RequestInvalid(reason="the password must not be empty")
        row = {"name": name, "password_hash": self._hasher.hash(password)}
        with self._engine.begin() as conn:
            updated = conn.execute(users.update().where(users.c.user_id == user_id).values(**row))
            if updated.rowcount == 0:
                conn.execute(
                    users.insert().values(user_id=user_id, created=datetime.now(UTC), **row)
                )
        return User(user_id=user_id, name=name, method="basic")

    def remove(self, user_id: str) -> bool:
        """Delete a user; returns whether it existed."""
        with self._engine.begin() as conn:
            return conn.execute(users.delete().where(users.c.user_id == user_id)).rowcount > 0

    def list(self) -> list[User]:
        """All password users, sorted by id."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(users.c.user_id, users.c.name).order_by(users.c.user_id))
            return [User(user_id=r.user_id, name=r.name, method="basic") for r in rows]

    def count(self) -> int:
        """How many password users exist."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    def get(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.user_id, users.c.name).where(users.c.user_id == user_id)
            ).first()
        return None if row is None else User(user_id=row.user_id, name=row.name, method="basic")

    def token_stamp(self, user_id: str) -> str | None:
        """A short hash of the password hash: it changes with every password change.

        Tokens carry it, so those issued before a change (or before removal: None) stop working.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.password_hash).where(users.c.user_id == user_id)
            ).first()
        if row is None:
            return None
        return hashlib.sha256(row.password_hash.encode()).hexdigest()[:16]

    def verify(self, user_id: str, password: str) -> User:
        """Check a password; raises :class:`CredentialsInvalid` for an unknown user or a wrong password."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
        if row is None:
            # Hash anyway so that response time does not reveal which user ids exist.
            self._hasher.hash(password)
            raise CredentialsInvalid()
        try:
            self._hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise CredentialsInvalid() from None
        return User(user_id=row.user_id, name=row.name, method="basic")

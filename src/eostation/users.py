"""Users with passwords for HTTP Basic authentication, stored in the shared database."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import sqlalchemy as sa
from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from eostation.db import metadata, read_connection, write_attempts
from eostation.errors import CredentialsInvalid, RequestInvalid

__all__ = ["PASSWORD_HASH", "USER_ID_PATTERN", "User", "UserStore", "safe_user_id"]

USER_ID_PATTERN = re.compile(r"^[\w\-.~]+$", re.ASCII)

#: Argon2id at OWASP's minimum (19 MiB, 2 passes), lower than the library default: it is
#: checked on every /credentials/basic call.
PASSWORD_HASH = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19 * 1024,
    parallelism=1,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
)

# Device logins approved on the issuer's verification page, waiting for the device's poll.
# (The API replica that shows the page need not be the one the device polls.)
device_logins = sa.Table(
    "device_logins",
    metadata,
    sa.Column("user_code", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
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


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class UserStore:
    """Create, remove, list and verify password users."""

    #: How new passwords are hashed; a stored hash carries its own parameters, so a
    #: change applies to new and changed passwords only. The test suite uses argon2's
    #: CHEAPEST profile (tests/conftest.py).
    hash_parameters: ClassVar[Parameters] = PASSWORD_HASH

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._hasher = PasswordHasher.from_parameters(self.hash_parameters)

    def add(self, user_id: str, password: str, name: str | None = None) -> User:
        """Create a user, or change the password and name of an existing one."""
        if not USER_ID_PATTERN.match(user_id):
            raise RequestInvalid(
                reason=f"user id '{user_id}' may only contain letters, digits, '_', '-', '.', '~'"
            )
        if not password:
            raise RequestInvalid(reason="the password must not be empty")
        row = {"name": name, "password_hash": self._hasher.hash(password)}
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                updated = conn.execute(
                    users.update().where(users.c.user_id == user_id).values(**row)
                )
                if updated.rowcount == 0:
                    conn.execute(
                        users.insert().values(user_id=user_id, created=datetime.now(UTC), **row)
                    )
        return User(user_id=user_id, name=name, method="basic")

    def remove(self, user_id: str) -> bool:
        """Delete a user; returns whether it existed."""
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                outcome = (
                    conn.execute(users.delete().where(users.c.user_id == user_id)).rowcount > 0
                )
        return outcome

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

    def account(self, user_id: str) -> tuple[User, str] | None:
        """The user and its token stamp (:meth:`token_stamp`) in one query, or None."""
        with read_connection(self._engine) as conn:
            row = conn.execute(
                sa.select(users.c.user_id, users.c.name, users.c.password_hash).where(
                    users.c.user_id == user_id
                )
            ).first()
        if row is None:
            return None
        user = User(user_id=row.user_id, name=row.name, method="basic")
        return user, _stamp(row.password_hash)

    def token_stamp(self, user_id: str) -> str | None:
        """A short hash of the password hash: it changes with every password change.

        Tokens and signed result links carry it, so those issued before a change (or
        before removal: None) stop working.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.password_hash).where(users.c.user_id == user_id)
            ).first()
        return None if row is None else _stamp(row.password_hash)

    def approve_device(self, user_code: str, user_id: str, expires: float) -> None:
        """Record that ``user_id`` approved the device login ``user_code`` (until ``expires``, epoch s)."""
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                conn.execute(device_logins.delete().where(device_logins.c.user_code == user_code))
                conn.execute(
                    device_logins.insert().values(
                        user_code=user_code, user_id=user_id, expires=expires
                    )
                )

    def take_device_approval(self, user_code: str, now: float) -> str | None:
        """The user who approved ``user_code``, once: the approval is consumed (None if none)."""
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                conn.execute(device_logins.delete().where(device_logins.c.expires < now))
                row = conn.execute(
                    sa.select(device_logins.c.user_id).where(device_logins.c.user_code == user_code)
                ).first()
                deleted = 0
                if row is not None:
                    deleted = conn.execute(
                        device_logins.delete().where(device_logins.c.user_code == user_code)
                    ).rowcount
        # Two polls racing for one approval: only the one that deleted the row gets it.
        return str(row.user_id) if row is not None and deleted else None

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

"""Users, tokens and OIDC verification against a real SQLite file and a local issuer."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from eostation.auth import LOCAL_USER, Authenticator, bind_refusal, is_loopback
from eostation.config import OidcProvider, Settings
from eostation.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
    RequestInvalid,
    TokenInvalid,
)
from eostation.migrations import open_database
from eostation.users import PASSWORD_HASH, UserStore, safe_user_id
from tests.oidc_issuer import LocalIssuer


@pytest.fixture
def store(database_url: str) -> UserStore:
    return UserStore(open_database(database_url))


def make_auth(tmp_path: Path, store: UserStore, **kw: object) -> Authenticator:
    return Authenticator(Settings(data_dir=tmp_path, secret_key="k", **kw), store)


def test_users_persist_in_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    UserStore(open_database(url)).add("alice", "s3cret", name="Alice")
    reopened = UserStore(open_database(url))
    assert [u.user_id for u in reopened.list()] == ["alice"]
    assert reopened.verify("alice", "s3cret").name == "Alice"
    with pytest.raises(CredentialsInvalid):
        reopened.verify("alice", "wrong")
    with pytest.raises(CredentialsInvalid):
        reopened.verify("bob", "s3cret")


def test_password_change_and_removal(store: UserStore) -> None:
    store.add("alice", "one")
    store.add("alice", "two")
    assert store.count() == 1
    assert store.verify("alice", "two").user_id == "alice"
    with pytest.raises(CredentialsInvalid):
        store.verify("alice", "one")
    assert store.remove("alice") is True
    assert store.remove("alice") is False


def test_hashes_keep_their_parameters_across_a_change_of_cost(
    store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production hashes with OWASP's argon2id minimum; the suite's cheap hashes (and any
    older, dearer ones) still verify, because each stored hash names its parameters."""
    monkeypatch.setattr(UserStore, "hash_parameters", PASSWORD_HASH)
    dear = UserStore(store._engine)
    dear.add("alice", "s3cret")
    assert _hashes(store)["alice"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    monkeypatch.undo()
    store.add("bob", "b-pw")
    assert not _hashes(store)["bob"].startswith("$argon2id$v=19$m=19456,")
    assert store.verify("alice", "s3cret").user_id == "alice"
    assert dear.verify("bob", "b-pw").user_id == "bob"
    with pytest.raises(CredentialsInvalid):
        store.verify("alice", "b-pw")


def _hashes(store: UserStore) -> dict[str, str]:
    from eostation.users import users

    with store._engine.connect() as conn:
        return {r.user_id: r.password_hash for r in conn.execute(users.select())}


@pytest.mark.parametrize("bad", ["a b", "x/y", "", "ü"])
def test_bad_user_ids_are_rejected(store: UserStore, bad: str) -> None:
    with pytest.raises(RequestInvalid):
        store.add(bad, "pw")


def test_safe_user_id_is_valid_and_injective() -> None:
    assert safe_user_id("auth0|123") == "auth0~7c123"
    assert safe_user_id("a~7c") != safe_user_id("a|")
    assert safe_user_id("jo.hn-doe_1") == "jo.hn-doe_1"
    assert safe_user_id("ü") == "~c3~bc"


def test_local_mode_only_on_loopback_without_users(tmp_path: Path, store: UserStore) -> None:
    auth = make_auth(tmp_path, store)
    assert auth.authenticate(None) == LOCAL_USER
    store.add("alice", "pw")
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(None)
    remote = make_auth(
        tmp_path, UserStore(open_database(f"sqlite:///{tmp_path / 'other.db'}")), host="0.0.0.0"
    )
    with pytest.raises(AuthenticationRequired):
        remote.authenticate(None)


def test_basic_token_round_trip_and_failures(tmp_path: Path, store: UserStore) -> None:
    user = store.add("alice", "pw")
    auth = make_auth(tmp_path, store)
    token = auth.issue_basic_token(user)
    assert auth.authenticate(f"Bearer basic//{token}").user_id == "alice"
    forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    with pytest.raises(TokenInvalid, match="signature"):
        auth.authenticate(f"Bearer basic//{forged}")
    key = Settings(secret_key="k").signing_key()
    expired = jwt.encode({"sub": "alice", "exp": int(time.time()) - 120}, key, algorithm="HS256")
    with pytest.raises(TokenInvalid, match="expired"):
        auth.authenticate(f"Bearer basic//{expired}")
    with pytest.raises(AuthenticationSchemeInvalid):
        auth.authenticate(f"Token {token}")
    with pytest.raises(AuthenticationSchemeInvalid):
        auth.authenticate(f"Bearer ldap//{token}")
    store.remove("alice")
    with pytest.raises(TokenInvalid, match="no longer exists"):
        auth.authenticate(f"Bearer basic//{token}")


def test_oidc_tokens_verified_against_the_issuer_jwks(tmp_path: Path, store: UserStore) -> None:
    with LocalIssuer() as issuer:
        provider = OidcProvider(id="local", issuer=issuer.issuer, audience="eostation")
        auth = make_auth(tmp_path, store, oidc_providers=[provider])
        assert not auth.local_mode()
        user = auth.authenticate(f"Bearer oidc/local/{issuer.token(aud='eostation', name='Alice')}")
        assert (user.user_id, user.name, user.method) == ("auth0~7c123", "Alice", "oidc")
        with pytest.raises(TokenInvalid, match="expired"):
            auth.authenticate(f"Bearer oidc/local/{issuer.token(aud='eostation', expires_in=-300)}")
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(TokenInvalid):
            auth.authenticate(f"Bearer oidc/local/{issuer.token(aud='eostation', key=other_key)}")
        with pytest.raises(TokenInvalid):
            auth.authenticate(f"Bearer oidc/local/{issuer.token(aud='someone-else')}")
        with pytest.raises(AuthenticationSchemeInvalid, match="unknown OIDC provider"):
            auth.authenticate(f"Bearer oidc/nope/{issuer.token()}")
        issuer.opaque_tokens["opaque-abc"] = {"sub": "user@example", "email": "u@example.org"}
        assert auth.authenticate("Bearer oidc/local/opaque-abc").user_id == "user~40example"
        with pytest.raises(TokenInvalid):
            auth.authenticate("Bearer oidc/local/opaque-unknown")


def test_non_loopback_bind_is_refused_without_auth(tmp_path: Path, store: UserStore) -> None:
    auth = make_auth(tmp_path, store)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert bind_refusal("127.0.0.1", auth) is None
    assert "refusing to listen on 0.0.0.0" in (bind_refusal("0.0.0.0", auth) or "")
    store.add("alice", "pw")
    assert bind_refusal("0.0.0.0", auth) is None


def test_secret_files_are_created_once_and_private(tmp_path: Path) -> None:
    from eostation.config import read_or_create_secret

    path = tmp_path / "s.key"
    first = read_or_create_secret(path, lambda: "one")
    assert first == "one" and stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another process starting later keeps the existing secret instead of replacing it.
    assert read_or_create_secret(path, lambda: "two") == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["s.key"]  # no temporary file left


def test_data_dir_and_database_are_private(tmp_path: Path) -> None:
    loose = tmp_path / "data"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    settings = Settings(data_dir=loose)
    settings.ensure_data_dir()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    fresh = Settings(data_dir=tmp_path / "new" / "data")
    fresh.ensure_data_dir()
    assert stat.S_IMODE(fresh.data_dir.stat().st_mode) == 0o700
    open_database(settings.db_url)
    assert stat.S_IMODE((loose / "eostation.db").stat().st_mode) == 0o600


def test_the_built_in_issuer_does_not_turn_udfs_off(tmp_path: Path, store: UserStore) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k")
    auth = Authenticator(settings, store)
    assert auth.builtin_provider_id == "CDSE" and auth.local_mode()
    assert settings.udf_enabled()
    # Nor does an external provider any more: the UDF sandbox separates users.
    external = OidcProvider(id="egi", issuer="https://aai.example")
    assert settings.model_copy(update={"oidc_providers": [external]}).udf_enabled()
    assert not settings.model_copy(update={"udf": "off"}).udf_enabled()


def test_an_external_provider_named_cdse_takes_precedence(tmp_path: Path, store: UserStore) -> None:
    with LocalIssuer() as issuer:
        provider = OidcProvider(id="CDSE", issuer=issuer.issuer)
        auth = make_auth(tmp_path, store, oidc_providers=[provider])
        assert auth.builtin_provider_id is None
        user = auth.authenticate(f"Bearer oidc/CDSE/{issuer.token(sub='ext')}")
        assert (user.user_id, user.method) == ("ext", "oidc")


def test_basic_tokens_of_local_need_the_current_secret(tmp_path: Path, store: UserStore) -> None:
    auth = make_auth(tmp_path, store)
    with pytest.raises(CredentialsInvalid):
        auth.verify_password("local", "guess")
    token = auth.issue_basic_token(auth.verify_password("local", auth.local_secret()))
    assert auth.authenticate(f"Bearer basic//{token}", browser=True) == LOCAL_USER
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(None, browser=True)
    (tmp_path / "local.secret").unlink()  # a new secret is made: old tokens stop working
    with pytest.raises(TokenInvalid, match="revoked"):
        auth.authenticate(f"Bearer basic//{token}")

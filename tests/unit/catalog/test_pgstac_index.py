"""The pgstac items index on a real PostgreSQL with PostGIS (``slow``: the server starts once)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from shapely.geometry import box

from eostation.catalog import ItemQuery
from eostation.catalog.index import ItemIndex
from eostation.catalog.pgstac import (
    PgstacItemIndex,
    PgstacSetupError,
    _require_extensions,
    conninfo,
    migrate_pgstac,
)
from eostation.catalog.sqlite import SqliteItemIndex
from eostation.config import Settings
from eostation.errors import ServiceUnavailable
from tests.conftest import free_port
from tests.pg_server import PostgresServer

from .index_tests import ItemIndexTests, make_item

pytestmark = pytest.mark.slow


class TestPgstacItemIndex(ItemIndexTests):
    @pytest.fixture
    def index(self, pgstac_url: str) -> Iterator[ItemIndex]:
        index = PgstacItemIndex(pgstac_url)
        yield index
        index.close()


def test_items_are_pgstac_items(pgstac_url: str) -> None:
    """Any pgstac reader sees them: pgstac's own get_item and search() return them."""
    index = PgstacItemIndex(pgstac_url)
    item = make_item("x", day=3, **{"eo:cloud_cover": 7.0})
    index.upsert([item, make_item("y", day=4)])
    index.upsert([make_item("p", collection="results-alice")], owner="alice")
    with psycopg.connect(conninfo(pgstac_url)) as conn:
        conn.execute("SET search_path TO pgstac, public")
        (got,) = conn.execute("SELECT get_item('x', 'c1')").fetchone() or (None,)
        (found,) = conn.execute(
            "SELECT search(%s::jsonb)", ('{"collections": ["c1"], "sortby": []}',)
        ).fetchone() or (None,)
        (private,) = conn.execute("SELECT private FROM items WHERE id = 'p'").fetchone() or (None,)
    index.close()
    assert got == item
    assert sorted(f["id"] for f in found["features"]) == ["x", "y"]
    assert private == {"eostation:owner": "alice"}


def test_migration_is_idempotent(pgstac_url: str) -> None:
    first = migrate_pgstac(pgstac_url)
    assert migrate_pgstac(pgstac_url) == first
    assert first.startswith("0.10")


def test_many_items_footprint_search_within_a_collection(pgstac_url: str) -> None:
    index = PgstacItemIndex(pgstac_url)
    items = [
        make_item(f"i{x}_{y}", day=1 + (x + y) % 28, footprint=box(x, y, x + 1, y + 1))
        for x in range(-20, 20)
        for y in range(-10, 10)
    ]
    assert index.upsert(items) == 800
    page = index.search(ItemQuery(collections=("c1",), intersects=box(2.5, 2.5, 3.5, 3.5)))
    index.close()
    assert sorted(i["id"] for i in page.items) == ["i2_2", "i2_3", "i3_2", "i3_3"]
    assert page.matched == 4


def test_postgresql_selects_pgstac_and_sqlite_stays_the_default(
    pgstac_url: str, tmp_path: Path
) -> None:
    from eostation.api.routes.stac_setup import open_item_index

    on_pg = open_item_index(Settings(data_dir=tmp_path, database_url=pgstac_url))
    on_pg.upsert([make_item("x")])
    on_pg.close()
    assert isinstance(on_pg, PgstacItemIndex)
    assert not (tmp_path / "items.db").exists()
    opted_out = open_item_index(
        Settings(data_dir=tmp_path, database_url=pgstac_url, catalog={"index": "sqlite"})
    )
    assert isinstance(opted_out, SqliteItemIndex)
    assert opted_out.search(ItemQuery()).matched == 0  # the SQLite file, not the server
    opted_out.close()
    assert isinstance(open_item_index(Settings(data_dir=tmp_path)), SqliteItemIndex)


def test_pgstac_on_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    from eostation.api.routes.stac_setup import open_item_index

    with pytest.raises(PgstacSetupError, match="PostgreSQL database URL, not sqlite"):
        open_item_index(Settings(data_dir=tmp_path, catalog={"index": "pgstac"}))


def test_a_missing_extension_is_named(pgstac_url: str) -> None:
    with psycopg.connect(conninfo(pgstac_url)) as conn:
        _require_extensions(conn)  # the server has PostGIS
        with pytest.raises(PgstacSetupError, match=r"extension\(s\) no_such_ext .*CATALOG__INDEX"):
            _require_extensions(conn, ("postgis", "no_such_ext"))


def test_an_unreachable_server_is_503_not_500() -> None:
    index = PgstacItemIndex(
        f"postgresql+psycopg://eostation@127.0.0.1:{free_port()}/none", wait_seconds=0.5
    )
    with pytest.raises(ServiceUnavailable, match="catalogue database is unreachable") as info:
        index.search(ItemQuery())
    index.close()
    assert info.value.status == 503


def test_a_role_that_may_not_install_pgstac_gets_a_clear_error(pg_server: PostgresServer) -> None:
    role = "plain_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN NOCREATEROLE"))
        conn.execute(sa.text(f"CREATE DATABASE {role} OWNER {role}"))
    admin.dispose()
    url = f"postgresql+psycopg://{role}@127.0.0.1:{pg_server.port}/{role}"
    with pytest.raises(PgstacSetupError, match=r"Installing pgstac's schema failed: .*permission"):
        migrate_pgstac(url)

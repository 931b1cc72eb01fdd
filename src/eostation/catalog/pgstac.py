"""The scaled items index: pgstac's tables on the PostgreSQL server eostation already uses.

Items live where pgstac keeps them (``pgstac.items``, partitioned by collection, a GiST
index on the footprint), written through pgstac's own ``upsert_items`` so that any pgstac
reader (stac-fastapi-pgstac, titiler-pgstac) sees the same catalogue. Two things pgstac's
``search()`` does not offer are kept in the columns pgstac reserves for them: the owner
of a private item in ``items.private`` and the signature of the last :meth:`replace` in
``collections.private``. Searches are plain SQL over ``pgstac.items`` rather than
``search()`` because eostation needs what ``search()`` lacks: owner-private items,
``offset`` paging (OData ``$skip``), missing values last in both sort directions, and the
same CQL2 meaning as the SQLite index (:mod:`.match` runs on the SQL candidates here too).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from eostation.errors import ItemNotFound, ServiceUnavailable

from .match import compile_filter, expr_matches, sort_property
from .query import ItemPage, ItemQuery

__all__ = ["PgstacItemIndex", "PgstacSetupError", "conninfo", "migrate_pgstac"]

log = logging.getLogger(__name__)

_OWNER = "eostation:owner"
_STATE = "eostation:state"
# One key for every eostation process migrating the same database at start-up.
_MIGRATE_LOCK = 0x65_6F_70_67  # "eopg"
# Columns that sort without reading the document; ``datetime`` is the nominal instant,
# as in the SQLite index (pgstac's own ``datetime`` column is ``start_datetime`` when set).
_SORT_SQL = {
    "id": 'i.id COLLATE "C"',
    "collection": 'i.collection COLLATE "C"',
    "datetime": "(i.content->'properties'->>'datetime')::timestamptz",
}
_VISIBLE = "(i.private->>'eostation:owner' IS NULL OR i.private->>'eostation:owner' = %s)"


class PgstacSetupError(RuntimeError):
    """pgstac cannot be used on this server (e.g. PostGIS is not installed)."""


def conninfo(url: str) -> str:
    """A libpq URL from eostation's SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise PgstacSetupError(f"pgstac needs a PostgreSQL database URL, not {scheme}://…")
    return f"postgresql://{rest}"


def migrate_pgstac(url: str) -> str:
    """Install or upgrade pgstac's schema (idempotent); returns its version.

    Processes starting together (API, runners) take turns on an advisory lock. A server
    without PostGIS gets :class:`PgstacSetupError` naming the missing extension.
    """
    from pypgstac.db import PgstacDB
    from pypgstac.migrate import Migrate

    dsn = conninfo(url)
    with psycopg.connect(dsn, autocommit=True) as lock:
        _require_extensions(lock)
        lock.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
        try:
            db = PgstacDB(dsn=dsn)
            try:
                version = str(Migrate(db).run_migration())
            except psycopg.Error as exc:
                # Typically a role that may not create the extensions or pgstac's roles.
                raise PgstacSetupError(
                    f"Installing pgstac's schema failed: {exc}. See docs/deployment.md "
                    "(PostgreSQL: the catalogue), or EOSTATION_CATALOG__INDEX=sqlite."
                ) from exc
            finally:
                pool = db.pool
                db.disconnect()  # hands its connection back to the pool and forgets both
                if pool is not None:
                    pool.close()
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))
    log.info("pgstac schema at version %s", version)
    return version


def _require_extensions(
    conn: psycopg.Connection[Any], wanted: tuple[str, ...] = ("postgis", "btree_gist", "unaccent")
) -> None:
    rows = conn.execute(
        "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(wanted),)
    ).fetchall()
    missing = sorted(set(wanted) - {r[0] for r in rows})
    if missing:
        raise PgstacSetupError(
            f"The PostgreSQL server lacks the extension(s) {', '.join(missing)} that pgstac "
            "needs for the catalogue (Debian: apt-get install postgresql-15-postgis-3). "
            "Or keep the catalogue in SQLite: EOSTATION_CATALOG__INDEX=sqlite."
        )


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET search_path TO pgstac, public")


class PgstacItemIndex:
    """:class:`~eostation.catalog.index.ItemIndex` in pgstac (schema migrated beforehand)."""

    def __init__(self, url: str, *, max_connections: int = 4, wait_seconds: float = 5.0) -> None:
        self._pool = ConnectionPool(
            conninfo(url),
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=_configure,
            check=ConnectionPool.check_connection,  # survives a server restart
            timeout=wait_seconds,
            open=True,
        )
        self._collections: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; an unreachable server is a 503 to retry, not a 500."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailable(
                reason=f"the catalogue database is unreachable: {type(exc).__name__}",
                retry_after=5,
            ) from exc

    # -- writing -------------------------------------------------------------------------

    def upsert(self, items: Iterable[dict[str, Any]], owner: str | None = None) -> int:
        """Insert or replace items (keyed by collection and id) through ``upsert_items``."""
        with self._connection() as conn, conn.transaction():
            return self._insert(conn, items, owner)

    def _insert(
        self, conn: psycopg.Connection[Any], items: Iterable[dict[str, Any]], owner: str | None
    ) -> int:
        # The last of several versions of one (collection, id) in a batch wins.
        latest = {(item["collection"], item["id"]): item for item in items}
        by_collection: dict[str, list[str]] = defaultdict(list)
        for collection, item_id in latest:
            by_collection[collection].append(item_id)
        for collection in by_collection:
            self._ensure_collection(conn, collection)
        if latest:
            conn.execute("SELECT upsert_items(%s)", (Jsonb(list(latest.values())),))
        private = Jsonb({_OWNER: owner}) if owner is not None else None
        for collection, ids in by_collection.items():
            conn.execute(
                "UPDATE items SET private = %s WHERE collection = %s AND id = ANY(%s)",
                (private, collection, ids),
            )
        return len(latest)

    def _ensure_collection(self, conn: psycopg.Connection[Any], collection: str) -> None:
        """pgstac needs a collection row (and partition) before its items."""
        if collection in self._collections:
            return
        doc = {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": collection,
            "description": f"eostation items of {collection}",
            "license": "other",
            "extent": {
                "spatial": {"bbox": [[-180, -90, 180, 90]]},
                "temporal": {"interval": [[None, None]]},
            },
            "links": [],
        }
        conn.execute(
            "INSERT INTO collections (content) VALUES (%s) ON CONFLICT (id) DO NOTHING",
            (Jsonb(doc),),
        )
        with self._lock:
            self._collections.add(collection)

    def delete(self, collection: str, ids: Iterable[str] | None = None) -> int:
        """Remove items of a collection (all when ``ids`` is None)."""
        with self._connection() as conn, conn.transaction():
            return self._delete(conn, collection, ids)

    @staticmethod
    def _delete(conn: psycopg.Connection[Any], collection: str, ids: Iterable[str] | None) -> int:
        if ids is None:
            cur = conn.execute("DELETE FROM items WHERE collection = %s", (collection,))
        else:
            cur = conn.execute(
                "DELETE FROM items WHERE collection = %s AND id = ANY(%s)",
                (collection, list(ids)),
            )
        return cur.rowcount

    def replace(
        self,
        collection: str,
        items: Iterable[dict[str, Any]],
        state: str,
        owner: str | None = None,
    ) -> int:
        """All items of a collection swapped in one transaction; ``state`` remembered."""
        with self._connection() as conn, conn.transaction():
            self._delete(conn, collection, None)
            self._ensure_collection(conn, collection)
            n = self._insert(conn, items, owner)
            conn.execute(
                "UPDATE collections SET private = coalesce(private, '{}'::jsonb) || %s "
                "WHERE id = %s",
                (Jsonb({_STATE: state}), collection),
            )
            return n

    def state(self, collection: str) -> str | None:
        """The state recorded by the last :meth:`replace` of the collection."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT private->>%s FROM collections WHERE id = %s", (_STATE, collection)
            ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    # -- reading -------------------------------------------------------------------------

    def get(self, collection: str, item_id: str, user_id: str | None) -> dict[str, Any]:
        """One item visible to ``user_id``, hydrated by pgstac."""
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT content_hydrate(i) FROM items i WHERE i.collection = %s AND i.id = %s "
                f"AND {_VISIBLE}",
                (collection, item_id, user_id),
            ).fetchone()
        if row is None:
            raise ItemNotFound(item_id=item_id, collection_id=collection)
        doc: dict[str, Any] = row[0]
        return doc

    def counts(self, user_id: str | None) -> dict[str, int]:
        """Items per collection visible to ``user_id``."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT i.collection, count(*) FROM items i WHERE {_VISIBLE} "
                "GROUP BY i.collection",
                (user_id,),
            ).fetchall()
        return {str(c): int(n) for c, n in rows}

    def search(self, query: ItemQuery) -> ItemPage:
        """Footprint, time, ids and collections in SQL (PostGIS, pgstac's indexes); a CQL2
        filter on those candidates in Python, as the SQLite index does; one page hydrated."""
        expr = compile_filter(query.filter, trusted=query.filter_trusted)
        where, params = self._where(query)
        order, order_params = self._order(query)
        with self._connection() as conn:
            if expr is None:
                # Keys first: OFFSET discards the rows it skips only after computing them,
                # and hydrating is the costly part (deep pages hydrated 10× their size).
                chosen = [
                    (str(c), str(i))
                    for c, i in conn.execute(
                        f"SELECT i.collection, i.id FROM items i WHERE {where} ORDER BY {order} "
                        "LIMIT %s OFFSET %s",
                        [*params, *order_params, query.limit, query.offset],
                    ).fetchall()
                ]
                matched = None
                if query.count:
                    (matched,) = conn.execute(
                        f"SELECT count(*) FROM items i WHERE {where}", params
                    ).fetchone() or (0,)
            else:
                # Candidates in order, tested on their properties.
                rows = conn.execute(
                    "SELECT i.collection, i.id, jsonb_build_object('id', i.id, 'collection', "
                    "i.collection, 'properties', i.content->'properties', 'geometry', "
                    f"ST_AsGeoJSON(i.geometry)::jsonb) FROM items i WHERE {where} ORDER BY {order}",
                    [*params, *order_params],
                ).fetchall()
                hits = [(c, i) for c, i, doc in rows if expr_matches(expr, doc)]
                chosen = hits[query.offset : query.offset + query.limit]
                matched = len(hits) if query.count else None
            docs = {}
            if chosen:
                docs = {
                    (c, i): d
                    for c, i, d in conn.execute(
                        "SELECT i.collection, i.id, content_hydrate(i) FROM items i "
                        "WHERE (i.collection, i.id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                        ([c for c, _ in chosen], [i for _, i in chosen]),
                    ).fetchall()
                }
        return ItemPage(items=[docs[key] for key in chosen], matched=matched)

    def _where(self, query: ItemQuery) -> tuple[str, list[Any]]:
        where = [_VISIBLE]
        params: list[Any] = [query.user_id]
        if query.intersects is not None:
            where.append("ST_Intersects(i.geometry, ST_GeomFromWKB(%s, 4326))")
            params.append(query.intersects.wkb)
        if query.datetime is not None:
            lo, hi = query.datetime
            if lo is not None:
                where.append("i.end_datetime >= %s")
                params.append(lo)
            if hi is not None:
                where.append("i.datetime <= %s")
                params.append(hi)
        for column, values in (("collection", query.collections), ("id", query.ids)):
            if values is not None:
                where.append(f"i.{column} = ANY(%s)")
                params.append(list(values))
        return " AND ".join(where), params

    @staticmethod
    def _order(query: ItemQuery) -> tuple[str, list[Any]]:
        order = []
        params: list[Any] = []
        for name, direction in query.sortby or (("datetime", "desc"),):
            prop = sort_property(name)
            column = _SORT_SQL.get(prop)
            if column is None:
                # The property name is a parameter, never SQL; jsonb orders numbers as
                # numbers and strings as strings.
                column = "(i.content->'properties'->%s)"
                params.append(prop)
            order.append(f"{column} {'DESC' if direction == 'desc' else 'ASC'} NULLS LAST")
        # Byte order, as SQLite compares text, whatever the database's collation.
        order += [_SORT_SQL["collection"], _SORT_SQL["id"]]
        return ", ".join(order), params

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()

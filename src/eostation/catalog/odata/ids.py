"""Product ``Id`` → (collection, item id): the UUIDs served, remembered in the database.

A product ``Id`` is a UUIDv5 of its collection and item id (:func:`.entity.product_id`),
which cannot be inverted, so every product the catalogue serves is recorded here;
``Products(<Id>)`` then finds its item on any replica and after restarts.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from eostation.db import metadata, write_attempts

__all__ = ["ProductIds", "odata_products"]

odata_products = sa.Table(
    "odata_products",
    metadata,
    sa.Column("product_id", sa.String(36), primary_key=True),
    sa.Column("collection", sa.String(256), nullable=False),
    sa.Column("item_id", sa.String(512), nullable=False),
)


class ProductIds:
    """Records and resolves product UUIDs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[str] = set()
        # The database may have been opened before this module was imported (db.py
        # creates the tables of the modules imported so far), so make sure of ours.
        odata_products.create(engine, checkfirst=True)

    def remember(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Record ``(product_id, collection, item_id)`` rows (known ones are skipped)."""
        new = [
            {"product_id": p, "collection": c, "item_id": i}
            for p, c, i in rows
            if p not in self._known
        ]
        if not new:
            return
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(odata_products).on_conflict_do_nothing()
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                conn.execute(stmt, new)
        self._known.update(r["product_id"] for r in new)

    def resolve(self, product_id: str) -> tuple[str, str] | None:
        """The (collection, item id) of a served product, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(odata_products.c.collection, odata_products.c.item_id).where(
                    odata_products.c.product_id == product_id
                )
            ).first()
        return (row[0], row[1]) if row else None

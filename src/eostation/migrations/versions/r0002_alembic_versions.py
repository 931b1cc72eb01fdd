"""Alembic's ``alembic_version`` replaces wave 1's own ``schema_version`` table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Drop ``schema_version``: its one row (version 1) is what revision 0001 stands for."""
    op.drop_table("schema_version")


def downgrade() -> None:
    """Bring back ``schema_version`` at wave 1's version 1."""
    table = op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])

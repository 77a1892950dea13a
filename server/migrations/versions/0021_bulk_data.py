"""bulk data: stores' and geofences' external ids, tags and metadata; stores' location

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _labels(table: str) -> None:
    op.add_column(table, sa.Column("external_id", sa.String(128), nullable=True))
    op.add_column(
        table, sa.Column("tags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )
    op.add_column(
        table, sa.Column("metadata", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )


def upgrade() -> None:
    _labels("stores")
    op.add_column("stores", sa.Column("lon", sa.Float(), nullable=True))
    op.add_column("stores", sa.Column("lat", sa.Float(), nullable=True))
    _labels("geofences")
    # Unique indexes rather than constraints: both databases create them without a table
    # rebuild, and both let many rows have no external id (NULLs are distinct).
    op.create_index("uq_stores_external_id", "stores", ["external_id"], unique=True)
    op.create_index(
        "uq_geofences_store_external_id", "geofences", ["store_id", "external_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_geofences_store_external_id", table_name="geofences")
    op.drop_index("uq_stores_external_id", table_name="stores")
    with op.batch_alter_table("geofences") as batch:
        for column in ("metadata", "tags", "external_id"):
            batch.drop_column(column)
    with op.batch_alter_table("stores") as batch:
        for column in ("lat", "lon", "metadata", "tags", "external_id"):
            batch.drop_column(column)

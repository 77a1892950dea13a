"""broadcasts: a store's flash offer to users present now

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "offer_id",
            sa.Integer(),
            sa.ForeignKey("offers.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("centre_lon", sa.Float(), nullable=False),
        sa.Column("centre_lat", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "targeted",
                "sent",
                "suppressed",
                "skipped",
                "chunks_total",
                "chunks_done",
            )
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_broadcasts_store_id", "broadcasts", ["store_id"])
    op.create_table(
        "broadcast_chunks",
        sa.Column(
            "broadcast_id",
            sa.Integer(),
            sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("users", "sent", "suppressed", "skipped")
        ),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("broadcast_chunks")
    op.drop_index("ix_broadcasts_store_id", table_name="broadcasts")
    op.drop_table("broadcasts")

"""the funnel: per-offer and per-look counts by hour

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funnel_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("hour", UTCDateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "store_id", "subject", "subject_id", "hour", "metric", name="uq_funnel_counts"
        ),
    )
    op.create_index("ix_funnel_counts_store_hour", "funnel_counts", ["store_id", "hour"])
    op.create_table(
        "funnel_flushes",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("flushed_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_funnel_flushes_flushed_at", "funnel_flushes", ["flushed_at"])


def downgrade() -> None:
    op.drop_table("funnel_flushes")
    op.drop_table("funnel_counts")

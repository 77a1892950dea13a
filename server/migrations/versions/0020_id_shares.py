"""id shares: the stores a user chose to be named to in webhooks

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "id_shares",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.ForeignKey("stores.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("id_shares")

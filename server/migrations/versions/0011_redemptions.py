"""redemption codes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_HAS_NOTIFICATION = sa.text("notification_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "redemption_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("expires_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('offer', 'spend', 'purchase')", name="ck_redemption_codes_kind"
        ),
        sa.CheckConstraint(
            "kind <> 'spend' OR (points IS NOT NULL AND points > 0)",
            name="ck_redemption_codes_spend_points",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("redemption_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemption_codes_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_redemption_codes_store_id"), ["store_id"])
        batch_op.create_index(batch_op.f("ix_redemption_codes_offer_id"), ["offer_id"])
        batch_op.create_index(
            "uq_redemption_codes_notification",
            ["notification_id"],
            unique=True,
            postgresql_where=_HAS_NOTIFICATION,
            sqlite_where=_HAS_NOTIFICATION,
        )


def downgrade() -> None:
    op.drop_table("redemption_codes")

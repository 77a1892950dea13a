"""looks tables

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "looks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=500), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("image_key", sa.String(length=200), nullable=True),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_looks_user_id", "looks", ["user_id"])
    op.create_table(
        "look_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("look_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(item_id IS NULL) <> (brand_id IS NULL)", name="ck_look_tags_item_or_brand"
        ),
        sa.ForeignKeyConstraint(["look_id"], ["looks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_look_tags_look_id", "look_tags", ["look_id"])
    op.create_index("ix_look_tags_item_id", "look_tags", ["item_id"])
    op.create_index("ix_look_tags_brand_id", "look_tags", ["brand_id"])
    op.create_table(
        "look_opens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("look_id", sa.Integer(), nullable=True),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["look_id"], ["looks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["creator_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_look_opens_look_id", "look_opens", ["look_id"])
    op.create_index("ix_look_opens_user_id_opened_at", "look_opens", ["user_id", "opened_at"])


def downgrade() -> None:
    op.drop_table("look_opens")
    op.drop_table("look_tags")
    op.drop_table("looks")

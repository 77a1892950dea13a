"""nfc: the NFC tags stores place, a tap on one being presence at its store

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 23:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nfc_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=20), nullable=False),
        sa.Column("placement", sa.String(length=40), nullable=False),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("nfc_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nfc_tags_store_id"), ["store_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nfc_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nfc_tags_store_id"))
    op.drop_table("nfc_tags")

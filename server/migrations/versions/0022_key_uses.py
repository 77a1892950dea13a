"""key uses: the audit log of staff API keys

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        # No foreign key: keys are revoked, never deleted, and the log outlives any row.
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("store_ids", sa.JSON(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=True),
        sa.Column("path", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_key_uses_key_id_id", "key_uses", ["key_id", "id"])
    op.create_index("ix_key_uses_at", "key_uses", ["at"])


def downgrade() -> None:
    op.drop_index("ix_key_uses_at", table_name="key_uses")
    op.drop_index("ix_key_uses_key_id_id", table_name="key_uses")
    op.drop_table("key_uses")

"""offer rules: an offer's priority for the last push of the daily cap

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("offers", sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("priority")

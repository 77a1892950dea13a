"""offer confidence: an offer fires only on presence events at least this sure

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-24 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: every existing offer keeps firing on any event.
    op.add_column("offers", sa.Column("min_confidence", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("min_confidence")

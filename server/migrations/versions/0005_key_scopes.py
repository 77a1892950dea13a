"""api keys: explicit scope, revocation and rotation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("all_stores", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("rotated_at", kernel.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Until now a tech key bound to no store acted on the whole fleet: say so explicitly,
    # so those keys keep working, and "no stores" can mean nothing from here on.
    op.execute(
        "UPDATE api_keys SET all_stores = true WHERE role = 'tech' AND NOT EXISTS "
        "(SELECT 1 FROM api_key_stores s WHERE s.api_key_id = api_keys.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rotated_at")
        batch.drop_column("all_stores")

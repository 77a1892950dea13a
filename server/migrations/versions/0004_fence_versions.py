"""fence set version, offers deactivated with a reason

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # kernel.versions: one counter per in-memory copy. A later data migration that
    # changes geofences or EID registrations bumps its counter, so running processes
    # reload within VICINITY_INDEX_CHECK_S.
    versions = op.create_table(
        "index_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(versions, [{"name": "geofences", "version": 0}, {"name": "eids", "version": 0}])
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inactive_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("inactive_reason")
    op.drop_table("index_versions")

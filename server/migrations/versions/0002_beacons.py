"""beacons: registry, history, and offers targeting beacon zones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beacons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=40), nullable=False),
        sa.Column("point", kernel.db.ShapeType(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("measured_power_1m", sa.Integer(), nullable=False),
        sa.Column("eid_identity_key", sa.LargeBinary(length=16), nullable=True),
        sa.Column("eid_rotation_exponent", sa.Integer(), nullable=True),
        sa.Column("eid_epoch_s", sa.BigInteger(), nullable=True),
        sa.Column("spoofable", sa.Boolean(), nullable=False),
        sa.Column("installed_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("installed_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("battery_mv", sa.Integer(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("telemetry_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("visited_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("needs_visit", sa.Boolean(), nullable=False),
        sa.Column("visit_reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["installed_by"], ["api_keys.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity"),
    )
    with op.batch_alter_table("beacons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_beacons_needs_visit"), ["needs_visit"], unique=False)
        batch_op.create_index(batch_op.f("ix_beacons_store_id"), ["store_id"], unique=False)

    op.create_table(
        "beacon_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beacon_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["beacon_id"], ["beacons.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by_key_id"], ["api_keys.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("beacon_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_beacon_events_beacon_id"), ["beacon_id"], unique=False)

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("zones", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("zones")

    with op.batch_alter_table("beacon_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_beacon_events_beacon_id"))

    op.drop_table("beacon_events")
    with op.batch_alter_table("beacons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_beacons_store_id"))
        batch_op.drop_index(batch_op.f("ix_beacons_needs_visit"))

    op.drop_table("beacons")

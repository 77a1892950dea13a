"""offer campaign rules: budgets, schedule, dwell time, place-bound, holdout; stores' time zones;
notifications' visit expiry and opening

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "stores", sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC")
    )
    op.add_column("offers", sa.Column("max_sends", sa.Integer(), nullable=True))
    op.add_column("offers", sa.Column("max_sends_per_day", sa.Integer(), nullable=True))
    op.add_column("offers", sa.Column("schedule", sa.JSON(), nullable=True))
    op.add_column("offers", sa.Column("dwell_minutes", sa.Integer(), nullable=True))
    # Existing offers become place-bound, the default: they were sent on a visit.
    op.add_column(
        "offers", sa.Column("place_bound", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column(
        "offers", sa.Column("holdout_pct", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_table(
        "offer_budgets",
        sa.Column(
            "offer_id",
            sa.Integer(),
            sa.ForeignKey("offers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("day_sent", sa.Integer(), nullable=False),
    )
    op.add_column(
        "notifications",
        sa.Column("place_bound", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "notifications", sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "notifications", sa.Column("expired_at", UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "notifications", sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for column in ("opened_at", "expired_at", "expires_at", "place_bound"):
            batch.drop_column(column)
    op.drop_table("offer_budgets")
    with op.batch_alter_table("offers") as batch:
        for column in (
            "holdout_pct",
            "place_bound",
            "dwell_minutes",
            "schedule",
            "max_sends_per_day",
            "max_sends",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("timezone")

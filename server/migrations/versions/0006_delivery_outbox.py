"""durable delivery: sweeper due time, suppressed decisions outside the daily slot

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_IS_SUPPRESSED = sa.text("status = 'suppressed'")
_NOT_SUPPRESSED = sa.text("status <> 'suppressed'")
_DAY = ["user_id", "offer_id", "day"]


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", kernel.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint("uq_notification_day", type_="unique")
    # Notifications still owed a delivery are due now: the sweeper picks them up.
    op.execute(
        sa.text(
            "UPDATE notifications SET next_attempt_at = created_at "
            "WHERE status IN ('pending', 'retrying')"
        )
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "uq_notification_sent_day",
            _DAY,
            unique=True,
            postgresql_where=_NOT_SUPPRESSED,
            sqlite_where=_NOT_SUPPRESSED,
        )
        batch_op.create_index(
            "uq_notification_suppressed_day",
            _DAY,
            unique=True,
            postgresql_where=_IS_SUPPRESSED,
            sqlite_where=_IS_SUPPRESSED,
        )
        batch_op.create_index("ix_notifications_due", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notifications WHERE status = 'suppressed'"))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_due")
        batch_op.drop_index("uq_notification_suppressed_day")
        batch_op.drop_index("uq_notification_sent_day")
        batch_op.create_unique_constraint("uq_notification_day", _DAY)
        batch_op.drop_column("next_attempt_at")

"""notifications may carry a friend's look, capped at one per look per day

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_IS_SUPPRESSED = sa.text("status = 'suppressed'")
_NOT_SUPPRESSED = sa.text("status <> 'suppressed'")
_DAY = ["user_id", "look_id", "day"]


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("look_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_notifications_look_id", "looks", ["look_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            "uq_notification_look_sent_day",
            _DAY,
            unique=True,
            postgresql_where=_NOT_SUPPRESSED,
            sqlite_where=_NOT_SUPPRESSED,
        )
        batch_op.create_index(
            "uq_notification_look_suppressed_day",
            _DAY,
            unique=True,
            postgresql_where=_IS_SUPPRESSED,
            sqlite_where=_IS_SUPPRESSED,
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notifications WHERE look_id IS NOT NULL"))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("uq_notification_look_suppressed_day")
        batch_op.drop_index("uq_notification_look_sent_day")
        batch_op.drop_constraint("fk_notifications_look_id", type_="foreignkey")
        batch_op.drop_column("look_id")

"""offers version counter: seeded, so the first bump is an update like every other

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

versions = sa.table(
    "index_versions", sa.column("name", sa.String), sa.column("version", sa.Integer)
)


def upgrade() -> None:
    op.bulk_insert(versions, [{"name": "offers", "version": 0}])


def downgrade() -> None:
    op.execute(versions.delete().where(versions.c.name == "offers"))

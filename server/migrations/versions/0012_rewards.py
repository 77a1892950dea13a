"""rewards tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ACCOUNT_KINDS = "kind IN ('store_liability', 'store_loss', 'user_pending', 'user_available')"
NOT_NEGATIVE = "balance >= 0 OR kind IN ('store_liability', 'store_loss')"
TRANSFER_KINDS = "kind IN ('earn', 'release', 'void', 'reverse', 'loss', 'spend', 'forfeit')"
PURCHASE_STATES = "status IN ('none', 'pending', 'available', 'voided', 'reversed')"


def upgrade() -> None:
    op.create_table(
        "reward_rules",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_per_unit", sa.Integer(), nullable=False),
        sa.Column("per_purchase_cap", sa.Integer(), nullable=False),
        sa.Column("per_creator_daily_cap", sa.Integer(), nullable=False),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("return_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points_per_unit BETWEEN 0 AND 1000", name="ck_reward_rules_rate"),
        sa.CheckConstraint(
            "per_purchase_cap >= 0 AND per_creator_daily_cap >= 0", name="ck_reward_rules_caps"
        ),
        sa.CheckConstraint(
            "attribution_days BETWEEN 1 AND 90 AND return_days BETWEEN 0 AND 365",
            name="ck_reward_rules_days",
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(ACCOUNT_KINDS, name="ck_ledger_accounts_kind"),
        sa.CheckConstraint(NOT_NEGATIVE, name="ck_ledger_accounts_not_negative"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_accounts_store_id", ["store_id"], unique=False)
        batch_op.create_index("ix_ledger_accounts_user_id", ["user_id"], unique=False)

    op.create_table(
        "purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("store_purchase_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("look_id", sa.Integer(), nullable=True),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(PURCHASE_STATES, name="ck_purchases_status"),
        sa.CheckConstraint("amount_minor > 0 AND points >= 0", name="ck_purchases_amounts"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["creator_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["code_id"], ["redemption_codes.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["look_id"], ["looks.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "store_purchase_id", name="uq_purchases_store_purchase_id"),
        sa.UniqueConstraint("code_id", name="uq_purchases_code_id"),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index("ix_purchases_buyer_id", ["buyer_id"], unique=False)
        batch_op.create_index("ix_purchases_creator_id", ["creator_id"], unique=False)
        batch_op.create_index(
            "ix_purchases_status_available_at", ["status", "available_at"], unique=False
        )

    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("source_account_id", sa.Integer(), nullable=False),
        sa.Column("destination_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=True),
        sa.Column("look_id", sa.Integer(), nullable=True),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(TRANSFER_KINDS, name="ck_ledger_transfers_kind"),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transfers_positive"),
        sa.CheckConstraint(
            "source_account_id <> destination_account_id", name="ck_ledger_transfers_two_accounts"
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_account_id"], ["ledger_accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["destination_account_id"], ["ledger_accounts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["look_id"], ["looks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["code_id"], ["redemption_codes.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_transfers_store_id", ["store_id"], unique=False)
        batch_op.create_index(
            "ix_ledger_transfers_source_account_id", ["source_account_id"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_transfers_destination_account_id", ["destination_account_id"], unique=False
        )
        batch_op.create_index("ix_ledger_transfers_purchase_id", ["purchase_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ledger_transfers")
    op.drop_table("purchases")
    op.drop_table("ledger_accounts")
    op.drop_table("reward_rules")

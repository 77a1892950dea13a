"""Rewards: stores' reward rules, reported purchases and the points ledger: tables.

The ledger is ``ledger_accounts`` (one row per account, its balance) and
``ledger_transfers`` (append-only: this code never updates nor deletes a line). A balance
changes only in the statement set that writes the transfer moving it, and the database
refuses a user's balance below zero (``ck_ledger_accounts_not_negative``), whatever code
tries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, utcnow

ACCOUNT_KINDS = "kind IN ('store_liability', 'store_loss', 'user_pending', 'user_available')"
NOT_NEGATIVE = "balance >= 0 OR kind IN ('store_liability', 'store_loss')"
TRANSFER_KINDS = "kind IN ('earn', 'release', 'void', 'reverse', 'loss', 'spend', 'forfeit')"
PURCHASE_STATES = "status IN ('none', 'pending', 'available', 'voided', 'reversed')"


class RewardRule(Base):
    """How a store rewards the creators of the looks that bring it buyers."""

    __tablename__ = "reward_rules"
    __table_args__ = (
        CheckConstraint("points_per_unit BETWEEN 0 AND 1000", name="ck_reward_rules_rate"),
        CheckConstraint(
            "per_purchase_cap >= 0 AND per_creator_daily_cap >= 0", name="ck_reward_rules_caps"
        ),
        CheckConstraint(
            "attribution_days BETWEEN 1 AND 90 AND return_days BETWEEN 0 AND 365",
            name="ck_reward_rules_days",
        ),
    )

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    points_per_unit: Mapped[int] = mapped_column(Integer)
    per_purchase_cap: Mapped[int] = mapped_column(Integer)
    per_creator_daily_cap: Mapped[int] = mapped_column(Integer)
    attribution_days: Mapped[int] = mapped_column(Integer, default=7)
    return_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(ACCOUNT_KINDS, name="ck_ledger_accounts_kind"),
        CheckConstraint(NOT_NEGATIVE, name="ck_ledger_accounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # ``ledger_core.Account.key``: one row per account even when two requests open it at
    # once (a unique key rather than UNIQUE(kind, store, user), where NULLs never clash).
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    # NULL once the user is erased: the store's books keep the lines, pseudonymised.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerTransfer(Base):
    """One movement of points between two accounts of one store's books."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint(TRANSFER_KINDS, name="ck_ledger_transfers_kind"),
        CheckConstraint("amount > 0", name="ck_ledger_transfers_positive"),
        CheckConstraint(
            "source_account_id <> destination_account_id", name="ck_ledger_transfers_two_accounts"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    source_account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="CASCADE"), index=True
    )
    destination_account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    # ``ledger_core.Transfer.key`` ("earn:<purchase>", "spend:<code>"…): posted once.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    purchase_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchases.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # Deleting a look keeps the points earned through it.
    look_id: Mapped[int | None] = mapped_column(
        ForeignKey("looks.id", ondelete="SET NULL"), nullable=True
    )
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("redemption_codes.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Purchase(Base):
    """A purchase a store reported, once per store-side id, and what it earned whom."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("store_id", "store_purchase_id", name="uq_purchases_store_purchase_id"),
        # A shopper's code reports one purchase.
        UniqueConstraint("code_id", name="uq_purchases_code_id"),
        CheckConstraint(PURCHASE_STATES, name="ck_purchases_status"),
        CheckConstraint("amount_minor > 0 AND points >= 0", name="ck_purchases_amounts"),
        Index("ix_purchases_status_available_at", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    store_purchase_id: Mapped[str] = mapped_column(String(64))
    # sha256 of the report as first received: the same id with other content is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("redemption_codes.id", ondelete="SET NULL"), nullable=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The catalogue item ids bought (the store's SKUs resolved).
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    look_id: Mapped[int | None] = mapped_column(
        ForeignKey("looks.id", ondelete="SET NULL"), nullable=True
    )
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    points: Mapped[int] = mapped_column(Integer, default=0)
    # none (no award), pending → available, or voided / reversed by a refund.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

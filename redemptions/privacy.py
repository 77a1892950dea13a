"""Redemption codes' personal data: every code issued to a user (which store, which offer,
when used). Codes that expired unused are purged a week later; used ones are the record
of a redemption and stay until the user is erased."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.personal_data import Row, as_row, delete_rows, register
from redemptions.models import Code

# Long enough for the app to show "expired" and for a shopper's question at the till.
UNUSED_KEPT = timedelta(days=7)


def _export(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(select(Code).where(Code.user_id == user_id).order_by(Code.id))
    return [as_row(c) for c in rows]


def _erase(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(Code).where(Code.user_id == user_id))


def _purge(session: Session, now: datetime, _settings: Settings) -> int:
    return delete_rows(
        session,
        delete(Code).where(Code.used_at.is_(None), Code.expires_at < now - UNUSED_KEPT),
    )


register("redemption_codes", export=_export, erase=_erase, purge=_purge)

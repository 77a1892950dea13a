"""Accounts' personal data: the user row and their push devices (tokens included)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.models import Device, User
from accounts.tokens import user_tokens
from kernel.db import after_commit
from kernel.personal_data import Row, as_row, delete_rows, register


def _export_user(session: Session, user_id: int) -> list[Row]:
    user = session.get(User, user_id)
    # The token hash is a credential, not information about the person.
    return [] if user is None else [as_row(user, exclude=frozenset({"token_hash"}))]


def _erase_user(session: Session, user_id: int) -> int:
    # This process's hot paths stop accepting the token at once; others within a second.
    after_commit(session, lambda: user_tokens.forget_user(user_id))
    return delete_rows(session, delete(User).where(User.id == user_id))


def _export_devices(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(select(Device).where(Device.user_id == user_id).order_by(Device.id))
    return [as_row(d) for d in rows]


def _erase_devices(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(Device).where(Device.user_id == user_id))


register("users", export=_export_user, erase=_erase_user)
register("devices", export=_export_devices, erase=_erase_devices)

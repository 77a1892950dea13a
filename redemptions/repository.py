"""Redemption code reads, scoped to the caller: a user sees only their codes, a store only
the codes bound to it; anyone else's code is not found, exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.errors import NotFound
from kernel.pagination import keyset
from offers.models import Offer
from redemptions.core import Kind
from redemptions.models import Code
from stores.models import Store


@dataclass(frozen=True, slots=True)
class Listed:
    """A code with what its owner is shown about it."""

    code: Code
    store_name: str
    offer_title: str | None
    offer_ends_at: datetime | None


def for_claim(session: Session, *, code: str, store_id: int) -> Code | None:
    """The store's code, locked until the transaction ends (``SELECT … FOR UPDATE`` on
    PostgreSQL; SQLite, which has no row locks, serialises writers instead).

    ``populate_existing``: a claim that waited on the lock must see the winner's
    ``used_at``, not the copy already in this session.
    """
    query = (
        select(Code)
        .where(Code.code == code, Code.store_id == store_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one_or_none()


def of_notification(session: Session, notification_id: int) -> Code | None:
    return session.scalars(select(Code).where(Code.notification_id == notification_id)).first()


def by_code(session: Session, code: str) -> Code | None:
    return session.scalars(select(Code).where(Code.code == code)).first()


def of_user(session: Session, *, user_id: int, code: str) -> Code:
    found = session.scalars(select(Code).where(Code.code == code, Code.user_id == user_id)).first()
    if found is None:
        raise NotFound(f"you have no redemption code {code}")
    return found


def live_of_user(
    session: Session, *, user_id: int, now: datetime, after: int, limit: int
) -> list[Listed]:
    """The user's codes that have not expired, their offer's end included; an offer's
    code whose offer was deleted is gone with it."""
    query = (
        select(Code)
        .join(Store, Store.id == Code.store_id)
        .outerjoin(Offer, Offer.id == Code.offer_id)
        .where(
            Code.user_id == user_id,
            Code.expires_at > now,
            or_(Offer.ends_at.is_(None), Offer.ends_at > now),
            or_(Code.kind != Kind.OFFER.value, Code.offer_id.is_not(None)),
        )
    )
    page = keyset(query, Code.id, after=after, limit=limit)
    rows = session.execute(page.add_columns(Store.name, Offer.title, Offer.ends_at))
    return [Listed(code, store, title, ends) for code, store, title, ends in rows]


def count_unused(session: Session, *, user_id: int, kind: Kind, now: datetime) -> int:
    query = select(func.count(Code.id)).where(
        Code.user_id == user_id,
        Code.kind == kind.value,
        Code.used_at.is_(None),
        Code.expires_at > now,
    )
    return int(session.scalar(query) or 0)

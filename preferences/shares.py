"""The stores a user chose to be named to (by user id) in their webhooks: in force only
while the ``share_id_with_stores`` consent is granted."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.models import User
from preferences.core import Purpose
from preferences.models import IdShare
from preferences.service import consented, existing_stores


def listed(session: Session, *, user_id: int) -> list[int]:
    query = select(IdShare.store_id).where(IdShare.user_id == user_id)
    return list(session.scalars(query.order_by(IdShare.store_id)))


def replace(session: Session, *, user: User, store_ids: list[int]) -> list[int]:
    """Replace the stores the user is named to; they apply under the consent only."""
    wanted = existing_stores(session, store_ids, verb="share with")
    session.execute(delete(IdShare).where(IdShare.user_id == user.id))
    session.add_all(IdShare(user_id=user.id, store_id=s) for s in wanted)
    session.flush()
    return listed(session, user_id=user.id)


def names_user_to(session: Session, *, user_id: int, store_id: int, default_policy: str) -> bool:
    """Whether a store's webhooks may carry this user's id: they picked the store and the
    ``share_id_with_stores`` consent is granted under the policy in force, read now (a
    withdrawal applies to the very next delivery)."""
    chosen = session.get(IdShare, (user_id, store_id)) is not None
    return chosen and consented(
        session,
        user_id=user_id,
        purpose=Purpose.SHARE_ID_WITH_STORES,
        default_policy=default_policy,
    )

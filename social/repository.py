"""Every social query, and the reads other domains build on: who is whose friend, who is
blocked, what name to show, which shops friends favour."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kernel.pagination import keyset
from social.models import Block, FavouriteStore, FriendInvite, Friendship, Profile
from stores.models import Store


def friend_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(Friendship.friend_id).where(Friendship.user_id == user_id)))


def are_friends(session: Session, a: int, b: int) -> bool:
    return session.get(Friendship, (a, b)) is not None


def blocked_either_way(session: Session, a: int, b: int) -> bool:
    found = session.scalar(
        select(Block.blocker_id)
        .where(
            or_(
                and_(Block.blocker_id == a, Block.blocked_id == b),
                and_(Block.blocker_id == b, Block.blocked_id == a),
            )
        )
        .limit(1)
    )
    return found is not None


def blocked_ids(session: Session, user_id: int) -> set[int]:
    """Users this one blocked and users who blocked this one: neither sees the other."""
    blocked = select(Block.blocked_id).where(Block.blocker_id == user_id)
    blockers = select(Block.blocker_id).where(Block.blocked_id == user_id)
    return set(session.scalars(blocked.union(blockers)))


def display_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names of those who set one (everyone who has a friend did)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Profile.user_id, Profile.display_name).where(Profile.user_id.in_(ids))
    )
    return dict(rows.all())


def favourite_store_ids(session: Session, user_id: int) -> set[int]:
    return set(
        session.scalars(select(FavouriteStore.store_id).where(FavouriteStore.user_id == user_id))
    )


def friends_favouring(session: Session, user_id: int, store_ids: Iterable[int]) -> dict[int, int]:
    """Per store asked about, how many of the user's friends favour it (0 included)."""
    wanted = set(store_ids)
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = session.execute(
        select(FavouriteStore.store_id, func.count())
        .join(Friendship, Friendship.friend_id == FavouriteStore.user_id)
        .where(Friendship.user_id == user_id, FavouriteStore.store_id.in_(wanted))
        .group_by(FavouriteStore.store_id)
    )
    counts.update({store_id: int(n) for store_id, n in rows})
    return counts


def profiles(session: Session, user_ids: Iterable[int]) -> dict[int, Profile]:
    ids = set(user_ids)
    if not ids:
        return {}
    return {p.user_id: p for p in session.scalars(select(Profile).where(Profile.user_id.in_(ids)))}


def friends_page(session: Session, user_id: int, *, after: int, limit: int) -> list[Friendship]:
    """The user's side of each friendship, by friend id."""
    query = select(Friendship).where(Friendship.user_id == user_id)
    return list(session.scalars(keyset(query, Friendship.friend_id, after=after, limit=limit)))


def blocks_page(session: Session, user_id: int, *, after: int, limit: int) -> list[Block]:
    """The blocks this user made (never those made against them), by blocked id."""
    query = select(Block).where(Block.blocker_id == user_id)
    return list(session.scalars(keyset(query, Block.blocked_id, after=after, limit=limit)))


def favourites_page(
    session: Session, user_id: int, *, after: int, limit: int
) -> list[FavouriteStore]:
    query = select(FavouriteStore).where(FavouriteStore.user_id == user_id)
    return list(session.scalars(keyset(query, FavouriteStore.store_id, after=after, limit=limit)))


def store_names(session: Session, store_ids: Iterable[int]) -> dict[int, str]:
    ids = set(store_ids)
    if not ids:
        return {}
    rows = session.execute(select(Store.id, Store.name).where(Store.id.in_(ids)))
    return dict(rows.all())


def invite_by_hash(session: Session, code_hash: str) -> FriendInvite | None:
    return session.scalar(select(FriendInvite).where(FriendInvite.code_hash == code_hash))


def pending_invites(session: Session, inviter_id: int, *, now: datetime) -> list[FriendInvite]:
    return list(
        session.scalars(
            select(FriendInvite)
            .where(
                FriendInvite.inviter_id == inviter_id,
                FriendInvite.used_at.is_(None),
                FriendInvite.declined_at.is_(None),
                FriendInvite.expires_at > now,
            )
            .order_by(FriendInvite.id)
        )
    )

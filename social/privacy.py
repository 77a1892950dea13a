"""social: the personal data it keeps, registered for export and erasure.

A user's export holds what they made: their profile, invites (without the code's hash),
their side of each friendship with the friend's display name only, the blocks they made
and their favourite shops. A block someone else made against them is not theirs to see:
exporting it would tell a blocked user what the block exists to hide. Erasure removes
every row that names the user, in either column. Dead invites are purged a week past
their expiry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.personal_data import Row, as_row, delete_rows, register
from social.models import Block, FavouriteStore, FriendInvite, Friendship, Profile
from social.service import INVITE_RETENTION


def _export_profile(session: Session, user_id: int) -> list[Row]:
    profile = session.get(Profile, user_id)
    return [] if profile is None else [as_row(profile)]


def _erase_profile(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(Profile).where(Profile.user_id == user_id))


def _export_invites(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(FriendInvite).where(FriendInvite.inviter_id == user_id).order_by(FriendInvite.id)
    )
    # The hash stands for a code someone may still hold: a credential, not information.
    return [as_row(i, exclude=frozenset({"code_hash"})) for i in rows]


def _erase_invites(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(FriendInvite).where(FriendInvite.inviter_id == user_id))


def _purge_invites(session: Session, now: datetime, _settings: Settings) -> int:
    """Invites past expiry by more than the retention period, whatever their state."""
    return delete_rows(
        session, delete(FriendInvite).where(FriendInvite.expires_at < now - INVITE_RETENTION)
    )


def _export_friendships(session: Session, user_id: int) -> list[Row]:
    rows = session.execute(
        select(Friendship.friend_id, Profile.display_name, Friendship.created_at)
        .outerjoin(Profile, Profile.user_id == Friendship.friend_id)
        .where(Friendship.user_id == user_id)
        .order_by(Friendship.friend_id)
    )
    return [
        {"friend_id": friend_id, "display_name": name, "since": since.isoformat()}
        for friend_id, name, since in rows
    ]


def _erase_friendships(session: Session, user_id: int) -> int:
    return delete_rows(
        session,
        delete(Friendship).where(
            or_(Friendship.user_id == user_id, Friendship.friend_id == user_id)
        ),
    )


def _export_blocks(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(Block).where(Block.blocker_id == user_id).order_by(Block.blocked_id)
    )
    return [as_row(b) for b in rows]


def _erase_blocks(session: Session, user_id: int) -> int:
    return delete_rows(
        session,
        delete(Block).where(or_(Block.blocker_id == user_id, Block.blocked_id == user_id)),
    )


def _export_favourites(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(FavouriteStore)
        .where(FavouriteStore.user_id == user_id)
        .order_by(FavouriteStore.store_id)
    )
    return [as_row(f) for f in rows]


def _erase_favourites(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(FavouriteStore).where(FavouriteStore.user_id == user_id))


register("profiles", export=_export_profile, erase=_erase_profile)
register("friend_invites", export=_export_invites, erase=_erase_invites, purge=_purge_invites)
register("friendships", export=_export_friendships, erase=_erase_friendships)
register("blocks", export=_export_blocks, erase=_erase_blocks)
register("favourite_stores", export=_export_favourites, erase=_erase_favourites)

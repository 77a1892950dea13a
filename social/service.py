"""Profiles, invitations, friendships, blocks and favourite shops.

A blocked user learns nothing from the blocker: a code of someone who blocked them, or
whom they blocked, answers exactly like a code that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, update
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.service import hash_secret
from kernel.errors import Conflict, Invalid, NotFound
from kernel.personal_data import delete_rows
from social import core, repository
from social.models import Block, FavouriteStore, FriendInvite, Friendship, Profile
from stores.models import Store

INVITE_TTL = timedelta(hours=72)
# Dead invites (used, declined, expired) stay this long past expiry, so a late tap on
# the link says "expired" rather than "unknown"; the privacy purge then deletes them.
INVITE_RETENTION = timedelta(days=7)
MAX_PENDING_INVITES = 20

UNKNOWN_CODE = "no invite with this code; check it or ask your friend for a new one"
NEED_PROFILE = "set your display name first (PUT /v1/me/profile) so your friends see who you are"


# Profiles.


def get_profile(session: Session, *, user: User) -> Profile:
    profile = session.get(Profile, user.id)
    if profile is None:
        raise NotFound("you have no profile yet: PUT /v1/me/profile with a display_name")
    return profile


def set_profile(
    session: Session, *, user: User, display_name: str, avatar_url: str | None
) -> Profile:
    """Creates or replaces the profile; an omitted avatar removes it."""
    profile = session.get(Profile, user.id)
    if profile is None:
        profile = Profile(user_id=user.id, display_name=display_name, avatar_url=avatar_url)
        session.add(profile)
    else:
        profile.display_name, profile.avatar_url = display_name, avatar_url
    session.flush()
    return profile


def _require_profile(session: Session, user_id: int) -> None:
    if session.get(Profile, user_id) is None:
        raise Invalid(NEED_PROFILE)


# Invitations.


def create_invite(
    session: Session, *, user: User, now: datetime, scheme: str
) -> tuple[FriendInvite, str, str]:
    """A new invite, its code and its link; the code is shown once, only its hash kept."""
    _require_profile(session, user.id)
    if len(repository.pending_invites(session, user.id, now=now)) >= MAX_PENDING_INVITES:
        raise Conflict(
            f"you have {MAX_PENDING_INVITES} pending invites; "
            "revoke one (DELETE /v1/me/friends/invites/{id}) or wait for one to expire"
        )
    code = core.new_code()
    while repository.invite_by_hash(session, hash_secret(code)) is not None:
        code = core.new_code()
    invite = FriendInvite(
        inviter_id=user.id, code_hash=hash_secret(code), expires_at=now + INVITE_TTL, created_at=now
    )
    session.add(invite)
    session.flush()
    return invite, code, core.invite_link(scheme, code)


def pending_invites(session: Session, *, user: User, now: datetime) -> list[FriendInvite]:
    return repository.pending_invites(session, user.id, now=now)


def revoke_invite(session: Session, *, user: User, invite_id: int) -> None:
    invite = session.get(FriendInvite, invite_id)
    if invite is None or invite.inviter_id != user.id:
        raise NotFound(f"no invite {invite_id} of yours")
    session.delete(invite)
    session.flush()


def _find_invite(session: Session, *, user: User, code: str) -> FriendInvite:
    """The invite behind ``code``, whatever its state, unless it is the user's own."""
    read = core.read_code(code)
    if read is None:
        raise Invalid(
            f"an invite code is {core.CODE_LENGTH} letters and digits (or the invite link)"
        )
    invite = repository.invite_by_hash(session, hash_secret(read))
    # A block either way looks like no invite at all, before any state could tell.
    if invite is None or repository.blocked_either_way(session, invite.inviter_id, user.id):
        raise NotFound(UNKNOWN_CODE)
    if invite.inviter_id == user.id:
        raise Invalid("this is your own invite code: send it to a friend")
    return invite


def _check_open(invite: FriendInvite, *, now: datetime, declining: bool = False) -> None:
    """Refuses a spent or expired invite; a declined one may only be declined again."""
    if invite.used_at is not None:
        raise NotFound("this invite code was already used; ask your friend for a new one")
    if invite.declined_at is not None:
        if declining:
            return
        raise NotFound("this invite was declined; ask your friend for a new one")
    if invite.expires_at <= now:
        raise NotFound(
            f"this invite code expired at {invite.expires_at.isoformat()}; "
            "ask your friend for a new one"
        )


def accept_invite(
    session: Session, *, user: User, code: str, now: datetime
) -> tuple[Friendship, Profile]:
    """Both directions of the friendship (mine returned, with the new friend's profile);
    the code is spent. The inviter has a profile: making an invite needs one."""
    _require_profile(session, user.id)
    invite = _find_invite(session, user=user, code=code)
    inviter_id = invite.inviter_id
    # Before the code's state: a retry after a lost answer hears it worked.
    if repository.are_friends(session, user.id, inviter_id):
        raise Conflict("you are already friends with the maker of this invite")
    _check_open(invite, now=now)
    # Conditional, so two people racing with the same code cannot both spend it.
    spent = session.execute(
        update(FriendInvite)
        .where(
            FriendInvite.id == invite.id,
            FriendInvite.used_at.is_(None),
            FriendInvite.declined_at.is_(None),
        )
        .values(used_at=now)
    )
    if cast(CursorResult[Any], spent).rowcount != 1:
        raise NotFound("this invite code was already used; ask your friend for a new one")
    mine = Friendship(user_id=user.id, friend_id=inviter_id, created_at=now)
    session.add_all([mine, Friendship(user_id=inviter_id, friend_id=user.id, created_at=now)])
    session.flush()
    return mine, repository.profiles(session, [inviter_id])[inviter_id]


def decline_invite(session: Session, *, user: User, code: str, now: datetime) -> None:
    """Idempotent: declining a declined invite changes nothing."""
    invite = _find_invite(session, user=user, code=code)
    _check_open(invite, now=now, declining=True)
    if invite.declined_at is None:
        invite.declined_at = now
        session.flush()


# Friends.


def friends(
    session: Session, *, user: User, after: int, limit: int
) -> list[tuple[Friendship, Profile]]:
    rows = repository.friends_page(session, user.id, after=after, limit=limit)
    found = repository.profiles(session, (f.friend_id for f in rows))
    return [(f, found[f.friend_id]) for f in rows]


def _unfriend(session: Session, a: int, b: int) -> int:
    return delete_rows(
        session,
        delete(Friendship).where(
            or_(
                and_(Friendship.user_id == a, Friendship.friend_id == b),
                and_(Friendship.user_id == b, Friendship.friend_id == a),
            )
        ),
    )


def remove_friend(session: Session, *, user: User, friend_id: int) -> None:
    """Both directions go: friendship is mutual."""
    if _unfriend(session, user.id, friend_id) == 0:
        raise NotFound(f"user {friend_id} is not your friend")


# Blocks.


def block(session: Session, *, user: User, blocked_id: int, now: datetime) -> tuple[Block, str]:
    """Idempotent. Ends the friendship both ways; neither can befriend the other again
    while the block stands. With the blocked user's display name ("" if none)."""
    if blocked_id == user.id:
        raise Invalid("you cannot block yourself")
    if session.get(User, blocked_id) is None:
        raise NotFound(f"no user {blocked_id}")
    made = session.get(Block, (user.id, blocked_id))
    if made is None:
        _unfriend(session, user.id, blocked_id)
        made = Block(blocker_id=user.id, blocked_id=blocked_id, created_at=now)
        session.add(made)
        session.flush()
    return made, repository.display_names(session, [blocked_id]).get(blocked_id, "")


def blocks(session: Session, *, user: User, after: int, limit: int) -> list[tuple[Block, str]]:
    rows = repository.blocks_page(session, user.id, after=after, limit=limit)
    names = repository.display_names(session, (b.blocked_id for b in rows))
    return [(b, names.get(b.blocked_id, "")) for b in rows]


def unblock(session: Session, *, user: User, blocked_id: int) -> None:
    """The friendship the block ended does not come back: a new invite is needed."""
    made = session.get(Block, (user.id, blocked_id))
    if made is None:
        raise NotFound(f"you have not blocked user {blocked_id}")
    session.delete(made)
    session.flush()


# Favourite shops.


def favourite(
    session: Session, *, user: User, store_id: int, now: datetime
) -> tuple[FavouriteStore, str, int]:
    """Idempotent: a shop already favoured keeps its first date. With the shop's name and
    how many friends favour it."""
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}")
    made = session.get(FavouriteStore, (user.id, store_id))
    if made is None:
        made = FavouriteStore(user_id=user.id, store_id=store_id, created_at=now)
        session.add(made)
        session.flush()
    return made, store.name, repository.friends_favouring(session, user.id, [store_id])[store_id]


def unfavourite(session: Session, *, user: User, store_id: int) -> None:
    """Idempotent: a retry after a lost answer succeeds too."""
    delete_rows(
        session,
        delete(FavouriteStore).where(
            FavouriteStore.user_id == user.id, FavouriteStore.store_id == store_id
        ),
    )


def favourites(
    session: Session, *, user: User, after: int, limit: int
) -> list[tuple[FavouriteStore, str, int]]:
    """Each favourite shop with its name and how many friends favour it too."""
    rows = repository.favourites_page(session, user.id, after=after, limit=limit)
    ids = [f.store_id for f in rows]
    names = repository.store_names(session, ids)
    counts = repository.friends_favouring(session, user.id, ids)
    return [(f, names[f.store_id], counts[f.store_id]) for f in rows]

"""Friends: profiles, invitations, friendships, blocks and favourite shops: HTTP endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentUser, RuntimeDep, SessionDep
from social import core, service
from social.models import Friendship, Profile
from social.schemas import (
    BlockIn,
    BlockOut,
    CodeIn,
    FavouriteOut,
    FriendOut,
    InviteCreated,
    InviteOut,
    ProfileIn,
    ProfileOut,
)

router = APIRouter(prefix="/v1/me", tags=["friends"])


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/profile", summary="My profile: what friends see of me")
def get_profile(session: SessionDep, user: CurrentUser) -> ProfileOut:
    return ProfileOut.model_validate(service.get_profile(session, user=user))


@router.put("/profile", summary="Set my display name and avatar")
def put_profile(body: ProfileIn, session: SessionDep, user: CurrentUser) -> ProfileOut:
    profile = service.set_profile(
        session, user=user, display_name=body.display_name, avatar_url=body.avatar_url
    )
    return ProfileOut.model_validate(profile)


@router.post(
    "/friends/invites",
    status_code=status.HTTP_201_CREATED,
    summary="Make a one-time invite code (expires after 72 hours)",
)
def create_invite(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> InviteCreated:
    scheme = core.app_scheme(runtime.settings.deep_link_schemes)
    invite, code, link = service.create_invite(session, user=user, now=_now(), scheme=scheme)
    return InviteCreated(id=invite.id, code=code, link=link, expires_at=invite.expires_at)


@router.get("/friends/invites", summary="My invites nobody answered yet")
def list_invites(session: SessionDep, user: CurrentUser) -> list[InviteOut]:
    rows = service.pending_invites(session, user=user, now=_now())
    return [InviteOut.model_validate(i) for i in rows]


@router.delete(
    "/friends/invites/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke one of my invites",
)
def revoke_invite(invite_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.revoke_invite(session, user=user, invite_id=invite_id)


def _friend_out(friendship: Friendship, profile: Profile) -> FriendOut:
    return FriendOut(
        user_id=friendship.friend_id,
        display_name=profile.display_name,
        avatar_url=profile.avatar_url,
        since=friendship.created_at,
    )


@router.post(
    "/friends/accept",
    status_code=status.HTTP_201_CREATED,
    summary="Accept an invite code: we become friends both ways",
)
def accept_invite(body: CodeIn, session: SessionDep, user: CurrentUser) -> FriendOut:
    friendship, profile = service.accept_invite(session, user=user, code=body.code, now=_now())
    return _friend_out(friendship, profile)


@router.post(
    "/friends/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Decline an invite code (it can no longer be used)",
)
def decline_invite(body: CodeIn, session: SessionDep, user: CurrentUser) -> None:
    service.decline_invite(session, user=user, code=body.code, now=_now())


@router.get("/friends", summary="My friends: their display names and avatars")
def list_friends(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> Page[FriendOut]:
    rows = service.friends(session, user=user, after=after, limit=limit)
    return Page(
        items=[_friend_out(f, p) for f, p in rows],
        next_after=next_cursor([f.friend_id for f, _ in rows], limit),
    )


@router.delete(
    "/friends/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop being friends (both ways)",
)
def remove_friend(user_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.remove_friend(session, user=user, friend_id=user_id)


@router.post(
    "/blocks",
    status_code=status.HTTP_201_CREATED,
    summary="Block a user: no friendship, nothing of mine reaches them",
)
def block(body: BlockIn, session: SessionDep, user: CurrentUser) -> BlockOut:
    made, name = service.block(session, user=user, blocked_id=body.user_id, now=_now())
    return BlockOut(user_id=made.blocked_id, display_name=name, since=made.created_at)


@router.get("/blocks", summary="The users I blocked")
def list_blocks(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> Page[BlockOut]:
    rows = service.blocks(session, user=user, after=after, limit=limit)
    return Page(
        items=[BlockOut(user_id=b.blocked_id, display_name=n, since=b.created_at) for b, n in rows],
        next_after=next_cursor([b.blocked_id for b, _ in rows], limit),
    )


@router.delete(
    "/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Unblock a user"
)
def unblock(user_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.unblock(session, user=user, blocked_id=user_id)


@router.put("/favourites/{store_id}", summary="Mark a shop as a favourite (my friends see it)")
def favourite(store_id: IdPath, session: SessionDep, user: CurrentUser) -> FavouriteOut:
    made, name, friends = service.favourite(session, user=user, store_id=store_id, now=_now())
    return FavouriteOut(store_id=made.store_id, name=name, since=made.created_at, friends=friends)


@router.delete(
    "/favourites/{store_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="No longer favour a shop",
)
def unfavourite(store_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.unfavourite(session, user=user, store_id=store_id)


@router.get("/favourites", summary="My favourite shops, with how many friends favour each")
def list_favourites(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> Page[FavouriteOut]:
    rows = service.favourites(session, user=user, after=after, limit=limit)
    return Page(
        items=[
            FavouriteOut(store_id=f.store_id, name=name, since=f.created_at, friends=n)
            for f, name, n in rows
        ],
        next_after=next_cursor([f.store_id for f, _, _ in rows], limit),
    )

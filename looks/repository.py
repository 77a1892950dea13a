"""Look reads, scoped to the viewer: a look is seen by its author and by the author's
friends when neither blocked the other; for anyone else it does not exist (404)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select, union
from sqlalchemy.orm import Session

from catalogue.models import Item
from kernel.errors import NotFound
from kernel.pagination import keyset
from looks.models import Look, LookOpen, LookTag
from looks.rank import LookCandidate
from preferences.models import Segment
from social.models import Block, Friendship
from social.repository import blocked_either_way, display_names, friend_ids


def visible_authors(viewer_id: int) -> Select[int]:
    """The viewer's friends, less anyone blocked either way (the rule of
    ``social.repository.blocked_ids``), as a subquery: one round trip for a feed page or
    the decision's candidates."""
    blocked = union(
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
    )
    return select(Friendship.friend_id).where(
        Friendship.user_id == viewer_id, Friendship.friend_id.not_in(blocked)
    )


def own(session: Session, look_id: int, user_id: int) -> Look:
    """The user's own look, locked for the change about to be made: two concurrent
    uploads then replace the image one after the other, and no file is left behind."""
    look = session.get(Look, look_id, with_for_update=True)
    if look is None or look.user_id != user_id:
        raise NotFound(f"no look {look_id}")
    return look


def visible(session: Session, look_id: int, viewer_id: int) -> Look:
    """The look if the viewer is its author, or a friend of it not blocked either way."""
    look = session.get(Look, look_id)
    if look is None:
        raise NotFound(f"no look {look_id}")
    if look.user_id != viewer_id and (
        look.user_id not in friend_ids(session, viewer_id)
        or blocked_either_way(session, viewer_id, look.user_id)
    ):
        raise NotFound(f"no look {look_id}")
    return look


def by_author(session: Session, user_id: int, *, after: int, limit: int) -> list[Look]:
    query = select(Look).where(Look.user_id == user_id)
    return list(
        session.scalars(keyset(query, Look.id, after=after, limit=limit, newest_first=True))
    )


def feed(session: Session, viewer_id: int, *, after: int, limit: int) -> list[Look]:
    query = select(Look).where(Look.user_id.in_(visible_authors(viewer_id)))
    return list(
        session.scalars(keyset(query, Look.id, after=after, limit=limit, newest_first=True))
    )


def recent_open(
    session: Session, *, user_id: int, look_id: int, since: datetime
) -> LookOpen | None:
    query = (
        select(LookOpen)
        .where(
            LookOpen.user_id == user_id, LookOpen.look_id == look_id, LookOpen.opened_at >= since
        )
        .limit(1)
    )
    return session.scalar(query)


def active_items(session: Session, ids: Collection[int]) -> dict[int, Item]:
    if not ids:
        return {}
    query = select(Item).where(Item.id.in_(list(ids)), Item.active.is_(True))
    return {i.id: i for i in session.scalars(query)}


def candidate_looks(
    session: Session, *, viewer_id: int, store_id: int, now: datetime, max_age_days: int = 90
) -> list[LookCandidate]:
    """Friends' looks (not blocked either way) posted in the last ``max_age_days`` that
    feature an active item of the store or a brand of one, for the decision at that store
    (ranked by ``looks.rank``). Three queries whatever the number of friends and looks.

    A look's segments are those of its tagged items at this store; ``opens_of_creator``
    counts the viewer's opens of any of that friend's looks, deleted ones included.
    """
    sold = select(Item).where(Item.store_id == store_id, Item.active.is_(True)).subquery()
    rows = session.execute(
        select(Look.id, Look.user_id, Look.created_at, Segment.slug)
        .join(LookTag, LookTag.look_id == Look.id)
        .outerjoin(Item, Item.id == LookTag.item_id)
        .outerjoin(Segment, Segment.id == Item.segment_id)
        .where(
            Look.user_id.in_(visible_authors(viewer_id)),
            Look.created_at >= now - timedelta(days=max_age_days),
            or_(
                LookTag.item_id.in_(select(sold.c.id)),
                LookTag.brand_id.in_(select(sold.c.brand_id)),
            ),
        )
    )
    looks: dict[int, tuple[int, datetime]] = {}
    segments: defaultdict[int, set[str]] = defaultdict(set)
    for look_id, creator_id, created_at, slug in rows:
        looks[look_id] = (creator_id, created_at)
        if slug is not None:
            segments[look_id].add(slug)
    if not looks:
        return []
    creators = {creator for creator, _ in looks.values()}
    opens = dict(
        session.execute(
            select(LookOpen.creator_id, func.count())
            .where(LookOpen.user_id == viewer_id, LookOpen.creator_id.in_(creators))
            .group_by(LookOpen.creator_id)
        ).all()
    )
    names = display_names(session, creators)
    return [
        LookCandidate(
            look_id=look_id,
            creator_id=creator_id,
            creator_name=names.get(creator_id, "a friend"),
            created_at=created_at.timestamp(),
            segments=frozenset(segments[look_id]),
            opens_of_creator=int(opens.get(creator_id, 0)),
        )
        for look_id, (creator_id, created_at) in sorted(looks.items())
    ]

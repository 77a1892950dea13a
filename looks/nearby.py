"""Stores near a point, for the user asking: how far each is, whether it is one of their
favourites, how many of their friends favour it, and their friends' looks featuring it.

Stores have no coordinates of their own: a store is as far as its nearest geofence
(metres outside it, 0 inside), read from the in-memory index (``GeofenceIndex.near``), so
this works the same on PostGIS and in the embedded SQLite mode. Nothing here says where a
friend is or was, and nobody but the user's friends (neither blocked) appears.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from accounts.models import User
from catalogue.models import Item
from geofence.core import GeofenceIndex
from looks.models import Look, LookTag
from looks.repository import visible_authors
from looks.schemas import AuthorOut
from social.repository import favourite_store_ids, friends_favouring, profiles, store_names

LOOKS_PER_STORE = 3
MAX_STORES = 50
MAX_RADIUS_M = 5000


class NearbyLookOut(BaseModel):
    look_id: int
    author: AuthorOut
    caption: str
    created_at: datetime


class NearbyStoreOut(BaseModel):
    store_id: int
    name: str
    distance_m: int = Field(description="Metres to the store's nearest geofence; 0 inside it.")
    favourite: bool = Field(description="One of my favourite stores.")
    friends_favouring: int = Field(description="How many of my friends favour it.")
    friends_looks: list[NearbyLookOut] = Field(
        description=f"My friends' looks featuring its items or brands, newest first, at most "
        f"{LOOKS_PER_STORE}."
    )


def _nearest_stores(
    index: GeofenceIndex, *, lat: float, lon: float, radius_m: float
) -> dict[int, float]:
    """Store id → metres to its nearest fence, nearest first (``near`` sorts its fences)."""
    distances: dict[int, float] = {}
    for fence, metres in index.near(lon, lat, radius_m):
        distances.setdefault(fence.store_id, metres)
    return distances


def _looks_featuring(
    session: Session, *, viewer_id: int, store_ids: Collection[int]
) -> dict[int, list[Look]]:
    """Per store, the viewer's friends' looks (neither blocked) tagging one of its active
    items or a brand of one, newest first, at most ``LOOKS_PER_STORE``. One query for the
    pairs and one for the looks, whatever the number of stores."""
    pairs = session.execute(
        select(Item.store_id, LookTag.look_id)
        .join(
            LookTag,
            or_(
                LookTag.item_id == Item.id,
                and_(Item.brand_id.is_not(None), LookTag.brand_id == Item.brand_id),
            ),
        )
        .join(Look, Look.id == LookTag.look_id)
        .where(
            Item.store_id.in_(list(store_ids)),
            Item.active.is_(True),
            Look.user_id.in_(visible_authors(viewer_id)),
        )
        .distinct()
    ).all()
    if not pairs:
        return {}
    looks = {
        look.id: look
        for look in session.scalars(select(Look).where(Look.id.in_({p[1] for p in pairs})))
    }
    by_store: defaultdict[int, list[Look]] = defaultdict(list)
    for store_id, look_id in pairs:
        by_store[store_id].append(looks[look_id])
    return {
        store_id: sorted(found, key=lambda x: (x.created_at, x.id), reverse=True)[:LOOKS_PER_STORE]
        for store_id, found in by_store.items()
    }


def nearby_stores(
    session: Session,
    *,
    user: User,
    index: GeofenceIndex,
    lat: float,
    lon: float,
    radius_m: float,
    limit: int,
) -> list[NearbyStoreOut]:
    """The ``limit`` stores nearest the point within ``radius_m``, nearest first (ties by
    store id), as the user sees them."""
    distances = _nearest_stores(index, lat=lat, lon=lon, radius_m=radius_m)
    names = store_names(session, distances)  # a fence of a store just deleted: skipped
    ids = [s for s in distances if s in names][:limit]
    if not ids:
        return []
    mine = favourite_store_ids(session, user.id)
    counts = friends_favouring(session, user.id, ids)
    looks = _looks_featuring(session, viewer_id=user.id, store_ids=ids)
    people = profiles(session, {x.user_id for found in looks.values() for x in found})
    out = []
    for store_id in ids:
        shown = []
        for look in looks.get(store_id, []):
            profile = people.get(look.user_id)
            author = AuthorOut(
                user_id=look.user_id,
                display_name=profile.display_name if profile else None,
                avatar_url=profile.avatar_url if profile else None,
            )
            shown.append(
                NearbyLookOut(
                    look_id=look.id, author=author, caption=look.caption, created_at=look.created_at
                )
            )
        out.append(
            NearbyStoreOut(
                store_id=store_id,
                name=names[store_id],
                distance_m=round(distances[store_id]),
                favourite=store_id in mine,
                friends_favouring=counts[store_id],
                friends_looks=shown,
            )
        )
    return out

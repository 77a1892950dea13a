"""Looks: users post, edit and delete them; friends see them in their feed and open them.

Uploaded image files follow the transaction: a new file is written before commit (so a
committed look never points at a missing file) and removed if the transaction rolls back;
a replaced or deleted look's file is removed only after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from accounts.models import User
from catalogue.repository import brands_by_ids, items_by_ids, search_candidates
from kernel.db import after_commit, after_rollback
from kernel.errors import Invalid, NotFound
from looks import repository
from looks.images import ImageStore, clean_image, content_type_of, new_key
from looks.models import Look, LookOpen, LookTag
from looks.schemas import AuthorOut, LookCreate, LookOut, LookUpdate, SuggestionsIn, TagIn, TagOut
from looks.suggest import Candidate, Kind, Suggestion, suggest
from social.repository import favourite_store_ids, profiles

# A second tap on the same look within this long is the same open, not another one.
REOPEN_WINDOW = timedelta(seconds=10)


def _tags(session: Session, tags: Sequence[TagIn]) -> list[LookTag]:
    """New tag rows, each naming an active item or an existing brand (else 422)."""
    unique = list(dict.fromkeys((t.item_id, t.brand_id) for t in tags))
    item_ids = [i for i, _ in unique if i is not None]
    brand_ids = [b for _, b in unique if b is not None]
    active = {i.id for i in items_by_ids(session, item_ids) if i.active}
    missing = [f"no active item {i}" for i in item_ids if i not in active]
    known = {b.id for b in brands_by_ids(session, brand_ids)}
    missing += [f"no brand {b}" for b in brand_ids if b not in known]
    if missing:
        raise Invalid(f"tags: {', '.join(missing)} in the catalogue")
    return [LookTag(item_id=i, brand_id=b) for i, b in unique]


def _forget_file_later(session: Session, images: ImageStore, key: str | None) -> None:
    if key is not None:
        after_commit(session, lambda: images.delete(key))


def create_look(session: Session, *, user: User, data: LookCreate) -> Look:
    look = Look(
        user_id=user.id,
        caption=data.caption,
        hashtags=data.hashtags,
        image_url=data.image_url,
        tags=_tags(session, data.tags),
    )
    session.add(look)
    session.flush()
    return look


def update_look(
    session: Session, *, user: User, look_id: int, data: LookUpdate, images: ImageStore
) -> Look:
    look = repository.own(session, look_id, user.id)
    if data.caption is not None:
        look.caption = data.caption
    if data.hashtags is not None:
        look.hashtags = data.hashtags
    if "image_url" in data.model_fields_set:
        look.image_url = data.image_url
        if data.image_url is not None:  # one image per look: the URL replaces the upload
            _forget_file_later(session, images, look.image_key)
            look.image_key = None
    if data.tags is not None:
        look.tags = _tags(session, data.tags)
    session.flush()
    return look


def delete_look(session: Session, *, user: User, look_id: int, images: ImageStore) -> None:
    """Deletes the look, its tags and its image; opens keep who was opened, and points
    earned through it stay earned."""
    look = repository.own(session, look_id, user.id)
    _forget_file_later(session, images, look.image_key)
    session.delete(look)
    session.flush()


def set_image(
    session: Session,
    *,
    user: User,
    look_id: int,
    upload: bytes,
    images: ImageStore,
    max_bytes: int,
    max_pixels: int,
) -> Look:
    """Replaces the look's image (upload or URL) with the cleaned upload."""
    data, content_type = clean_image(upload, max_bytes, max_pixels)  # before taking the lock
    look = repository.own(session, look_id, user.id)
    key = new_key(content_type)
    images.put(key, data)
    after_rollback(session, lambda: images.delete(key))
    _forget_file_later(session, images, look.image_key)
    look.image_key, look.image_url = key, None
    session.flush()
    return look


def image_of(
    session: Session, *, viewer: User, look_id: int, images: ImageStore
) -> tuple[bytes, str]:
    look = repository.visible(session, look_id, viewer.id)
    if look.image_key is None:
        raise NotFound(f"look {look_id} has no uploaded image")
    return images.open(look.image_key), content_type_of(look.image_key)


def get_look(session: Session, *, viewer: User, look_id: int) -> Look:
    return repository.visible(session, look_id, viewer.id)


def my_looks(session: Session, *, user: User, after: int, limit: int) -> list[Look]:
    return repository.by_author(session, user.id, after=after, limit=limit)


def feed(session: Session, *, user: User, after: int, limit: int) -> list[Look]:
    return repository.feed(session, user.id, after=after, limit=limit)


def record_open(session: Session, *, viewer: User, look_id: int, now: datetime) -> None:
    """The viewer opened a friend's look (their own do not count)."""
    look = repository.visible(session, look_id, viewer.id)
    if look.user_id == viewer.id:
        raise Invalid(f"look {look_id} is your own: only a friend's look is opened")
    since = now - REOPEN_WINDOW
    if repository.recent_open(session, user_id=viewer.id, look_id=look_id, since=since):
        return
    session.add(
        LookOpen(look_id=look.id, creator_id=look.user_id, user_id=viewer.id, opened_at=now)
    )
    session.flush()


def suggest_tags(
    session: Session, *, user: User, data: SuggestionsIn
) -> list[tuple[Suggestion, int | None]]:
    """Items and brands the caption and hashtags name, from the catalogues of the given
    stores and the user's favourites, best first, each with the item's store."""
    store_ids = set(data.store_ids) | favourite_store_ids(session, user.id)
    items = search_candidates(session, store_ids)
    store_of = {i.id: i.store_id for i in items}
    candidates = [
        Candidate(i.id, Kind.ITEM, i.name, i.brand.name if i.brand else None) for i in items
    ]
    brands = {i.brand.id: i.brand.name for i in items if i.brand is not None}
    candidates += [Candidate(b, Kind.BRAND, name) for b, name in sorted(brands.items())]
    found = suggest(data.caption, data.hashtags, candidates)
    return [(s, store_of[s.candidate.id] if s.candidate.kind is Kind.ITEM else None) for s in found]


def _tag_out(tag: LookTag, items: dict[int, str], brands: dict[int, str]) -> TagOut:
    if tag.item_id is not None:
        return TagOut(item_id=tag.item_id, brand_id=None, name=items.get(tag.item_id, ""))
    brand_id = tag.brand_id or 0  # the CHECK constraint: a tag without an item has a brand
    return TagOut(item_id=None, brand_id=brand_id, name=brands.get(brand_id, ""))


def present(session: Session, looks: Sequence[Look]) -> list[LookOut]:
    """The looks as shown: author's name and avatar, tags with their names (batched)."""
    people = profiles(session, {look.user_id for look in looks})
    tags = [t for look in looks for t in look.tags]
    item_names = {
        i.id: i.name for i in items_by_ids(session, {t.item_id for t in tags if t.item_id})
    }
    brand_names = {
        b.id: b.name for b in brands_by_ids(session, {t.brand_id for t in tags if t.brand_id})
    }
    out = []
    for look in looks:
        profile = people.get(look.user_id)
        out.append(
            LookOut(
                id=look.id,
                author=AuthorOut(
                    user_id=look.user_id,
                    display_name=profile.display_name if profile else None,
                    avatar_url=profile.avatar_url if profile else None,
                ),
                caption=look.caption,
                hashtags=list(look.hashtags),
                image_url=look.image_url,
                image_path=f"/v1/looks/{look.id}/image" if look.image_key else None,
                tags=[_tag_out(t, item_names, brand_names) for t in look.tags],
                created_at=look.created_at,
                updated_at=look.updated_at,
            )
        )
    return out

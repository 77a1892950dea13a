"""The looks tests' world, built below the API: people (with a profile), friendships,
blocks, stores with catalogue items and brands, and an image with GPS EXIF."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_user
from catalogue.models import Brand, Item
from kernel.db import unit_of_work
from preferences.models import Segment
from social.models import Block, FavouriteStore, Friendship, Profile
from stores.models import Store


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    token: str
    name: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(sessions: sessionmaker[Session], name: str) -> Person:
    with unit_of_work(sessions) as session:
        user, token = register_user(session, locale="en", timezone="Europe/Paris")
        session.add(Profile(user_id=user.id, display_name=name, avatar_url=None))
        return Person(user.id, token, name)


def befriend(sessions: sessionmaker[Session], a: Person, b: Person) -> None:
    with unit_of_work(sessions) as session:
        session.add_all(
            [Friendship(user_id=a.id, friend_id=b.id), Friendship(user_id=b.id, friend_id=a.id)]
        )


def block(sessions: sessionmaker[Session], blocker: Person, blocked: Person) -> None:
    with unit_of_work(sessions) as session:
        session.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))


def favour(sessions: sessionmaker[Session], who: Person, store_id: int) -> None:
    with unit_of_work(sessions) as session:
        session.add(FavouriteStore(user_id=who.id, store_id=store_id))


def store(sessions: sessionmaker[Session], name: str) -> int:
    with unit_of_work(sessions) as session:
        shop = Store(name=name)
        session.add(shop)
        session.flush()
        return shop.id


def brand(sessions: sessionmaker[Session], name: str) -> int:
    with unit_of_work(sessions) as session:
        row = Brand(name=name, slug=name.lower().replace(" ", "-").replace("'", ""))
        session.add(row)
        session.flush()
        return row.id


def segment_id(sessions: sessionmaker[Session], slug: str) -> int:
    with unit_of_work(sessions) as session:
        found = session.scalar(select(Segment.id).where(Segment.slug == slug))
        assert found is not None, slug
        return found


def item(
    sessions: sessionmaker[Session],
    store_id: int,
    name: str,
    *,
    brand_id: int | None = None,
    segment: str | None = None,
    active: bool = True,
) -> int:
    seg = segment_id(sessions, segment) if segment else None
    with unit_of_work(sessions) as session:
        row = Item(
            store_id=store_id,
            sku=f"sku-{name.lower().replace(' ', '-')}",
            name=name,
            brand_id=brand_id,
            segment_id=seg,
            price_minor=4900,
            currency="EUR",
            active=active,
        )
        session.add(row)
        session.flush()
        return row.id


def set_active(sessions: sessionmaker[Session], item_id: int, *, active: bool) -> None:
    with unit_of_work(sessions) as session:
        row = session.get(Item, item_id)
        assert row is not None
        row.active = active


PARIS_GPS: dict[int, Any] = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (48.0, 51.0, 36.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (2.0, 20.0, 49.0),
}


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    """A JPEG whose EXIF holds a GPS position in Paris, a camera make and an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = PARIS_GPS
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (16, 16), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()

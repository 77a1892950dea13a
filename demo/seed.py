"""The demo city: Paris shops as stores with geofences and offers, a demo shopper, keys.

The demo store also sells a few catalogue items and rewards looks (a reward rule), and
Ann, a friend of every demo shopper, posted a look tagging one of its items: the printed
walk into the store pushes both the store's offer and Ann's look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.models import ApiKey, User
from accounts.service import create_api_key, register_device, register_user
from catalogue.core import brand_slug
from catalogue.models import Item
from catalogue.service import find_or_create_brands
from demo.shops import KINDS, Shop, load_shops
from geofence.models import Geofence
from kernel.db import utcnow
from kernel.principal import Role
from looks.models import Look, LookTag
from looks.schemas import LookCreate, TagIn
from looks.service import create_look
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from preferences.service import policy_history, record_consent, set_interests
from rewards.models import RewardRule
from social.service import accept_invite, create_invite, favourite, set_profile
from stores.models import Store

DEMO_KEY_PREFIX = "demo "
OSM_ADDRESS = "OpenStreetMap "  # a demo store's address: OpenStreetMap and the shop's id
PER_KIND = 6
FRIEND = "Ann"
SHOPPER = "Sam"
# The demo store is a jeweller: its items are jewellery, a kind of fashion the demo
# shopper is interested in, so Ann's look shares an interest with them.
ITEMS = (
    ("DEMO-HOOPS", "Gold hoop earrings", "Maison Lune", 8900),
    ("DEMO-RING", "Silver stacking ring", "Maison Lune", 4500),
    ("DEMO-CHAIN", "Fine chain necklace", "Atelier Fil", 6200),
)
LOOK_SKU = "DEMO-HOOPS"


@dataclass(frozen=True, slots=True)
class DemoAccess:
    operator_key: str
    store_key: str
    store_id: int
    user_token: str
    inside: tuple[float, float]
    friend: str
    look_id: int
    items: int


def _pick(shops: list[Shop]) -> list[Shop]:
    """A few named shops of each kind, nearest the centre of Paris first."""
    centre = (2.3470, 48.8590)
    picked: list[Shop] = []
    for kind in KINDS:
        named = [s for s in shops if s.kind == kind and not s.name.startswith(kind[:5].title())]
        named.sort(
            key=lambda s: (
                (s.geometry.centroid.x - centre[0]) ** 2 + (s.geometry.centroid.y - centre[1]) ** 2
            )
        )
        picked.extend(named[:PER_KIND])
    return picked


def seed_stores(session: Session) -> int:
    """Create the demo stores once; returns how many exist."""
    if session.scalar(select(func.count()).select_from(Store)):
        _place_demo_stores(session)
        return int(session.scalar(select(func.count()).select_from(Store)) or 0)
    segments = {s.slug: s for s in segments_by_slug(session, {v[0] for v in KINDS.values()})}
    for shop in _pick(load_shops()):
        segment, title, body = KINDS[shop.kind]
        # Placed at its shop's centre: the console's map centres on it.
        centre = shop.geometry.centroid
        store = Store(
            name=shop.name, address=f"{OSM_ADDRESS}{shop.osm_id}", lon=centre.x, lat=centre.y
        )
        session.add(store)
        session.flush()
        fence = Geofence(
            store_id=store.id,
            name="Shop",
            geometry=shop.geometry,
            radius_m=shop.radius_m,
            dwell_s=120,
        )
        session.add(fence)
        session.add(Offer(store_id=store.id, title=title, body=body, segments=[segments[segment]]))
    session.flush()
    return int(session.scalar(select(func.count()).select_from(Store)) or 0)


def _place_demo_stores(session: Session) -> None:
    """Demo stores seeded before stores had a location get their geofence's centre."""
    unplaced = select(Store).where(Store.lon.is_(None), Store.address.startswith(OSM_ADDRESS))
    for store in session.scalars(unplaced):
        fence = session.scalar(
            select(Geofence).where(Geofence.store_id == store.id).order_by(Geofence.id).limit(1)
        )
        if fence is not None:
            store.lon, store.lat = fence.geometry.centroid.x, fence.geometry.centroid.y
    session.flush()


def _consent(session: Session, user: User, purposes: list[Purpose], policy_version: str) -> None:
    record_consent(
        session,
        user=user,
        choices=dict.fromkeys(purposes, True),
        policy_version=policy_history(session, default_policy=policy_version).current,
        default_policy=policy_version,
        source="demo",
        app_version=None,
    )


def _seed_catalogue(session: Session, store_id: int) -> Item:
    """The store's demo items (once) and its reward rule (once); the item Ann's look tags."""
    taken = set(session.scalars(select(Item.sku).where(Item.store_id == store_id)))
    brands = find_or_create_brands(session, {brand for _s, _n, brand, _p in ITEMS})
    [segment] = segments_by_slug(session, {"jewellery"})
    for sku, name, brand, price in ITEMS:
        if sku not in taken:
            session.add(
                Item(
                    store_id=store_id,
                    sku=sku,
                    name=name,
                    brand=brands[brand_slug(brand)],
                    segment=segment,
                    price_minor=price,
                    currency="EUR",
                )
            )
    if session.get(RewardRule, store_id) is None:
        session.add(
            RewardRule(
                store_id=store_id,
                currency="EUR",
                points_per_unit=2,
                per_purchase_cap=150,
                per_creator_daily_cap=400,
                attribution_days=7,
                return_days=14,
            )
        )
    session.flush()
    item = session.scalar(select(Item).where(Item.store_id == store_id, Item.sku == LOOK_SKU))
    assert item is not None
    return item


def _seed_friend(session: Session, item: Item, *, policy_version: str) -> tuple[User, int]:
    """Ann (who favours the store) and her look tagging ``item``, once: found again as the
    author of that look."""
    found = session.execute(
        select(Look.user_id, Look.id)
        .join(LookTag, LookTag.look_id == Look.id)
        .where(LookTag.item_id == item.id)
        .order_by(Look.id)
        .limit(1)
    ).first()
    if found is not None:
        ann = session.get(User, found[0])
        assert ann is not None
        return ann, found[1]
    ann, _token = register_user(session, locale="en", timezone="Europe/Paris")
    set_profile(session, user=ann, display_name=FRIEND, avatar_url=None)
    _consent(session, ann, [Purpose.FRIENDS_LOOKS], policy_version)
    set_interests(session, user=ann, slugs=["fashion"])
    favourite(session, user=ann, store_id=item.store_id, now=datetime.now(UTC))
    caption = "Sunday brunch with my new hoops"
    data = LookCreate(caption=caption, hashtags=["ootd"], tags=[TagIn(item_id=item.id)])
    return ann, create_look(session, user=ann, data=data).id


def _befriend(session: Session, friend: User, shopper: User) -> None:
    """Through an invite, as two phones would."""
    now = datetime.now(UTC)
    _invite, code, _link = create_invite(session, user=friend, now=now, scheme="vicinity")
    accept_invite(session, user=shopper, code=code, now=now)


def demo_access(session: Session, *, policy_version: str) -> DemoAccess:
    """Fresh demo keys (older demo keys are revoked) and a new consenting demo shopper,
    Ann's friend; the store's items, rule, Ann and her look are seeded once."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.name.startswith(DEMO_KEY_PREFIX), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    store = session.scalars(select(Store).order_by(Store.id)).first()
    assert store is not None, "seed_stores first"
    fence = session.scalars(select(Geofence).where(Geofence.store_id == store.id)).first()
    assert fence is not None
    _, operator = create_api_key(
        session, name=DEMO_KEY_PREFIX + "operator", role=Role.OPERATOR, store_ids=[]
    )
    _, staff = create_api_key(
        session, name=DEMO_KEY_PREFIX + "store", role=Role.STORE, store_ids=[store.id]
    )
    item = _seed_catalogue(session, store.id)
    ann, look_id = _seed_friend(session, item, policy_version=policy_version)
    user, token = register_user(session, locale="en", timezone="Europe/Paris")
    set_profile(session, user=user, display_name=SHOPPER, avatar_url=None)
    _consent(session, user, [Purpose.LOCATION_OFFERS, Purpose.FRIENDS_LOOKS], policy_version)
    set_interests(session, user=user, slugs=[s for s, _t, _b in KINDS.values()])
    register_device(session, user=user, token=f"demo-device-{user.id}", platform="android")
    _befriend(session, ann, user)
    point = fence.geometry.representative_point()
    items = len(session.scalars(select(Item.id).where(Item.store_id == store.id)).all())
    return DemoAccess(operator, staff, store.id, token, (point.y, point.x), FRIEND, look_id, items)

"""The demo city: Paris shops as stores with geofences and offers, a demo shopper, keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.models import ApiKey
from accounts.service import create_api_key, register_device, register_user
from demo.shops import KINDS, Shop, load_shops
from geofence.models import Geofence
from kernel.db import utcnow
from kernel.principal import Role
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from preferences.service import policy_history, record_consent, set_interests
from stores.models import Store

DEMO_KEY_PREFIX = "demo "
PER_KIND = 6


@dataclass(frozen=True, slots=True)
class DemoAccess:
    operator_key: str
    store_key: str
    store_id: int
    user_token: str
    inside: tuple[float, float]


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
        return int(session.scalar(select(func.count()).select_from(Store)) or 0)
    segments = {s.slug: s for s in segments_by_slug(session, {v[0] for v in KINDS.values()})}
    for shop in _pick(load_shops()):
        segment, title, body = KINDS[shop.kind]
        store = Store(name=shop.name, address=f"OpenStreetMap {shop.osm_id}")
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


def demo_access(session: Session, *, policy_version: str) -> DemoAccess:
    """Fresh demo keys (older demo keys are revoked) and a consenting demo shopper."""
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
    user, token = register_user(session, locale="en", timezone="Europe/Paris")
    record_consent(
        session,
        user=user,
        choices={Purpose.LOCATION_OFFERS: True},
        policy_version=policy_history(session, default_policy=policy_version).current,
        default_policy=policy_version,
        source="demo",
        app_version=None,
    )
    set_interests(session, user=user, slugs=[s for s, _t, _b in KINDS.values()])
    register_device(session, user=user, token=f"demo-device-{user.id}", platform="android")
    point = fence.geometry.representative_point()
    return DemoAccess(operator, staff, store.id, token, (point.y, point.x))

"""The world of ``bench ingest``: 5,000 geofences from the demo Paris shops (replicated
with a jitter), each with an offer (``--full``: offers under rules, and the operator's
webhook), a beacon per shop, 2,000 consented shoppers with a device; and the copies of
those fences that take the index to 100,000 for the memory figure.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
import shapely
from sqlalchemy import insert

from accounts.models import Device, User
from accounts.service import USER_TOKEN_PREFIX, hash_secret
from beacons.frames.base import ibeacon_identity
from beacons.models import Beacon
from bench.webhooks import ENTERED
from demo.shops import load_shops
from events.models import Webhook, webhook_events
from geofence.models import Geofence
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from offers.models import Offer
from preferences.models import ConsentRecord, Interest, Segment
from preferences.segments import seed_taxonomy
from server.migrate import upgrade
from stores.models import Store

FENCES = 5_000
UUID_BASE = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
SHOPPERS = 2_000
BIG_FENCES = 100_000


@dataclass(frozen=True)
class World:
    shops: list[tuple[float, float]]  # a point inside each fence
    users: list[dict[str, Any]]  # token, home point and its beacon, for the load generator


def _shifted(geom: Any, shift: Any) -> Any:
    return shapely.transform(geom, lambda c: c + shift)


def seed(settings: Settings, hook_url: str | None = None) -> World:
    engine = make_engine(settings)
    upgrade(engine)
    rng = np.random.default_rng(1)
    shops = load_shops()
    points: list[tuple[float, float]] = []
    beacons: list[Beacon] = []
    with unit_of_work(make_session_factory(engine)) as session:
        seed_taxonomy(session)
        segment = session.query(Segment).filter_by(slug="fashion").one()
        stores = [Store(name=shops[i % len(shops)].name) for i in range(FENCES)]
        session.add_all(stores)
        session.flush()
        for i, store in enumerate(stores):
            shop = shops[i % len(shops)]
            geom = shop.geometry
            if i >= len(shops):
                geom = _shifted(geom, rng.normal(0, 0.003, 2))
            session.add(
                Geofence(store_id=store.id, name="Shop", geometry=geom, radius_m=shop.radius_m)
            )
            if hook_url is None:
                session.add(
                    Offer(store_id=store.id, title="Offer", body="Body", segments=[segment])
                )
            else:
                session.add_all(_ruled_offers(store.id, segment))
            p = geom.representative_point()
            points.append((p.x, p.y))
            beacons.append(_beacon(store.id, i, p))
        if hook_url is not None:
            # The operator's fleet-wide webhook on every ENTER: an event row and a delivery
            # per transition, delivered by the worker to the local receiver.
            hook = Webhook(store_id=None, url=hook_url, secret="whsec_" + "b" * 43)
            session.add(hook)
            session.flush()
            session.execute(insert(webhook_events), [{"webhook_id": hook.id, "name": ENTERED}])
        tokens = [USER_TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in range(SHOPPERS)]
        users = [User(token_hash=hash_secret(t), locale="en", timezone="UTC") for t in tokens]
        session.add_all(users)
        session.flush()
        session.add_all(beacons)
        for n, user in enumerate(users):
            session.add_all(
                ConsentRecord(
                    user_id=user.id,
                    purpose=purpose,
                    granted=True,
                    policy_version=settings.policy_version,
                    source="bench",
                )
                for purpose in ("location_offers", "beacon_proximity")
            )
            session.add(Interest(user_id=user.id, segment_id=segment.id))
            session.add(Device(user_id=user.id, token=f"bench-{n}", platform="android"))
    with engine.begin() as conn:
        # The naive design's circles: ST_DWithin on geography wants a geography index.
        conn.exec_driver_sql(
            "CREATE INDEX ix_bench_geofences_geog ON geofences USING gist (geography(geometry))"
        )
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    homes = [int(rng.integers(len(points))) for _ in tokens]
    users_out = [
        {"token": t, "home": points[h], "beacon": [UUID_BASE, h // 65536, h % 65536]}
        for t, h in zip(tokens, homes, strict=True)
    ]
    return World(points, users_out)


def _beacon(store_id: int, n: int, where: Any) -> Beacon:
    """The shop's iBeacon, at the point its shoppers stand (``UUID_BASE``, n as major/minor)."""
    identity = ibeacon_identity(UUID(UUID_BASE), n // 65536, n % 65536)
    return Beacon(
        identity=identity,
        format="ibeacon",
        store_id=store_id,
        zone="entrance",
        point=where,
        measured_power_1m=-59,
        spoofable=True,
    )


def _ruled_offers(store_id: int, segment: Segment) -> list[Offer]:
    """``--full``: the ENTER offer under a daily cap and a 10 % holdout, and a second
    offer waiting for five minutes of dwell (evaluated on each of the store's DWELLs)."""
    return [
        Offer(
            store_id=store_id,
            title="Offer",
            body="Body",
            segments=[segment],
            max_sends_per_day=10_000,
            holdout_pct=10,
        ),
        Offer(
            store_id=store_id,
            title="Stay a while",
            body="Body",
            trigger="dwell",
            dwell_minutes=5,
            segments=[segment],
        ),
    ]


def grow_fences(url: str, total: int) -> None:
    """Copies of the seeded fences, shifted, until there are ``total``."""
    engine = make_engine(Settings(database_url=url))
    with engine.begin() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM geofences").scalar_one()
        copies = max(0, (total - have) // have)
        conn.exec_driver_sql(
            "INSERT INTO geofences (store_id, name, geometry, radius_m, dwell_s, created_at,"
            " updated_at) SELECT store_id, name,"
            " ST_Translate(geometry, (random() - 0.5) * 0.05, (random() - 0.5) * 0.05),"
            f" radius_m, dwell_s, now(), now() FROM geofences, generate_series(1, {copies})"
        )
    engine.dispose()

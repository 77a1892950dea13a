"""The demo city's stores are placed at their shop, so the console's map centres on them
and their geofences pass the far-from-store check; stores seeded before are placed too."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from demo.seed import seed_stores
from geofence.models import Geofence
from geofence.shapes import distance_m
from kernel.db import unit_of_work
from stores.models import Store


def _placed(session: Session) -> list[tuple[Store, Geofence]]:
    rows = session.execute(select(Store, Geofence).join(Geofence, Geofence.store_id == Store.id))
    return [(store, fence) for store, fence in rows]


def test_demo_stores_stand_on_their_shop_and_old_ones_are_placed(
    sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(sessions) as session:
        assert seed_stores(session) > 0
    with sessions() as session:
        placed = _placed(session)
        assert placed
        for store, fence in placed:
            assert store.location is not None
            assert distance_m(fence.geometry, fence.radius_m, *store.location) == 0.0

    with unit_of_work(sessions) as session:
        session.execute(update(Store).values(lon=None, lat=None))
    with unit_of_work(sessions) as session:
        seed_stores(session)
    with sessions() as session:
        assert all(store.location is not None for store, _fence in _placed(session))

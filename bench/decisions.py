"""The decision's throughput with friends' looks in play, before (offers only) and after.

``python -m bench decisions [--users 300] [--runs 3]``

(1) Pure: ``decide_all`` on one ENTER at a store with three offers, without looks and
    with ten ranked friends' looks (plus ``rank_looks`` of ten candidates, the pure part
    looks add): decisions per second, one core.
(2) Served: ``notifications.service.on_presence`` on a throwaway PostGIS database, an
    ENTER per user at a store with an offer and a catalogue item, each user with five
    friends who posted a look tagging it: users without the ``friends_looks`` consent (the
    decision as it was before looks) against users with it (candidates read, ranked,
    one more row): decisions per second and SQL statements per decision.

Figures are min/median/max over ``--runs``, with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_user
from bench.figures import spread
from bench.stack import database
from catalogue.models import Item
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from looks.models import Look, LookTag
from looks.rank import LookCandidate, rank_looks
from notifications.decide import LookRule, OfferRule, Trigger, decide_all
from notifications.service import on_presence
from offers.models import Offer
from preferences.core import Purpose, TargetingProfile
from preferences.models import ConsentRecord, Interest, Segment
from preferences.segments import seed_taxonomy
from presence.core import Transition
from server.migrate import upgrade
from social.models import Friendship, Profile
from stores.models import Store

NOW = 1_795_435_200.0
FRIENDS = 5


def _rate(work: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        work()
    return n / (time.perf_counter() - t)


def _pure(runs: int) -> None:
    profile = TargetingProfile(frozenset({"fashion", "shoes"}), max_per_day=5, friends_looks=True)
    offers = [OfferRule(i, 1, frozenset({"fashion"}), Transition.ENTER, None) for i in (1, 2, 3)]
    enter = [Trigger("geofence:1", 1, Transition.ENTER, NOW)]
    looks = [LookRule(100 + i, 1, 4.0 - i / 10, frozenset({"fashion"})) for i in range(10)]
    candidates = [
        LookCandidate(100 + i, 10 + i, "Ann", NOW - i * 3600, frozenset({"fashion"}), i)
        for i in range(10)
    ]
    n = 20_000
    before = [
        _rate(lambda: decide_all(profile, enter, offers, frozenset()), n) for _ in range(runs)
    ]

    def with_looks() -> None:
        rank_looks(candidates, profile.segments, NOW)
        decide_all(profile, enter, offers, frozenset(), looks=looks)

    after = [_rate(with_looks, n) for _ in range(runs)]
    print("  (1) pure decide_all, one ENTER, 3 offers (+ 10 ranked looks), one core")
    print(f"    offers only            {spread(before):>24} decisions/s")
    print(f"    offers + friends' looks {spread(after):>23} decisions/s")


def _seed(sessions: sessionmaker[Session], users: int, policy: str) -> tuple[int, list[int]]:
    """One store with an offer and an item; ``users`` shoppers, each with FRIENDS friends
    who posted a look tagging the item. Returns the store and the shoppers."""
    with unit_of_work(sessions) as session:
        seed_taxonomy(session)
        fashion = session.query(Segment).filter_by(slug="fashion").one()
        store = Store(name="Maison S")
        session.add(store)
        session.flush()
        session.add(Offer(store_id=store.id, title="-20%", body="Today", segments=[fashion]))
        item = Item(
            store_id=store.id,
            sku="LEG-1",
            name="Leggings",
            segment_id=fashion.id,
            price_minor=5990,
            currency="EUR",
        )
        session.add(item)
        session.flush()
        shoppers = []
        for n in range(users):
            shopper, _ = register_user(session, locale="en", timezone="UTC")
            session.flush()
            shoppers.append(shopper.id)
            session.add(Interest(user_id=shopper.id, segment_id=fashion.id))
            looks_too = n % 2 == 1  # odd shoppers consented to friends' looks
            for purpose in [Purpose.LOCATION_OFFERS] + (
                [Purpose.FRIENDS_LOOKS] if looks_too else []
            ):
                session.add(
                    ConsentRecord(
                        user_id=shopper.id,
                        purpose=purpose.value,
                        granted=True,
                        policy_version=policy,
                        source="bench",
                    )
                )
            for f in range(FRIENDS):
                friend, _ = register_user(session, locale="en", timezone="UTC")
                session.flush()
                session.add(Profile(user_id=friend.id, display_name=f"Friend {f}"))
                session.add(Friendship(user_id=shopper.id, friend_id=friend.id))
                session.add(Friendship(user_id=friend.id, friend_id=shopper.id))
                session.add(
                    Look(user_id=friend.id, caption="look", tags=[LookTag(item_id=item.id)])
                )
    return store.id, shoppers


def _served(users: int, runs: int) -> None:
    with database() as url:
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        upgrade(engine)
        sessions = make_session_factory(engine)
        policy = settings.policy_version
        statements = [0]
        event.listen(
            engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1)
        )
        rates: dict[str, list[float]] = {"offers only": [], "offers + looks": []}
        per: dict[str, list[float]] = {"offers only": [], "offers + looks": []}
        for run in range(runs):
            store_id, shoppers = _seed(sessions, users, policy)
            at = datetime.now(UTC).timestamp() + run  # a fresh day slot per run's shoppers
            for label, group in (
                ("offers only", shoppers[0::2]),
                ("offers + looks", shoppers[1::2]),
            ):
                statements[0] = 0
                t = time.perf_counter()
                pushed = 0
                for user_id in group:
                    with unit_of_work(sessions) as session:
                        trig = Trigger("geofence:1", store_id, Transition.ENTER, at)
                        pushed += len(
                            on_presence(
                                session,
                                user_id=user_id,
                                triggers=[trig],
                                purpose=Purpose.LOCATION_OFFERS,
                                policy_version=policy,
                                enqueue=lambda _id: None,
                            )
                        )
                rates[label].append(len(group) / (time.perf_counter() - t))
                per[label].append(statements[0] / len(group))
                expected = len(group) * (2 if label == "offers + looks" else 1)
                assert pushed == expected, (label, pushed, expected)
        engine.dispose()
    print(
        f"  (2) on_presence on PostGIS, one ENTER each, {users // 2} shoppers per mode,"
        f" {FRIENDS} friends' looks each"
    )
    for label in rates:
        print(
            f"    {label:<16} {spread(rates[label]):>20} decisions/s"
            f"   {spread(per[label], '{:.1f}')} SQL statements per decision"
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench decisions")
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args(argv or [])
    print(f"\nThe decision with friends' looks in play; {a.runs} runs; min/median/max")
    print(f"  load {os.getloadavg()}")
    _pure(a.runs)
    _served(a.users, a.runs)
    print(f"  load at the end: {os.getloadavg()}")

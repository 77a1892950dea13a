"""The world and the traffic of the fault drills (``test_faults_*.py``).

Shoppers' phones report fixes, beacon sightings and NFC taps (a tap presenting a pushed
offer's code redeems it) while a till confirms offer codes and reports purchases that earn
a friend points through her look. Every answer is recorded, so a drill can hold the API to
its promise during an outage (503 with ``Retry-After``, soon, never a 500) and then find in
the database every write the API acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_device
from kernel.config import Settings
from kernel.db import unit_of_work, utcnow
from kernel.principal import Role
from notifications.models import Notification
from preferences.core import Purpose
from preferences.service import record_consent
from redemptions.models import Code
from redemptions.service import issue_offer_code, issue_purchase_token
from rewards.ledger_core import AccountKind
from rewards.models import LedgerAccount, Purchase
from tests.beacons.factories import ibeacon, new_beacon
from tests.factories import Shop, api_key, auth, consenting_user, fix, open_shop
from tests.rewards.factories import look, opened

SHOPS = 3
PHONES = 6
WALK_S = 200.0
"""Time a shopper takes from one shop to the next (300 m)."""
RETRY_PAUSE_S = 0.1
"""A phone waits ``Retry-After`` (5 s) after a 503; the drills retry sooner to stay short."""
GIVE_UP_S = 60.0
"""A request still refused this long after its first attempt fails the drill."""
OK = frozenset({200, 201})
# What an outage may answer instead: 503 (a backing service is down), or 409 "busy" from a
# presence lock left held when Redis died (it expires with its lease).
LATER = frozenset({409, 503})


@dataclass(frozen=True, slots=True)
class Answer:
    route: str
    status: int
    seconds: float
    retry_after: str | None
    body: Any


@dataclass
class Journal:
    """Every answer of a drill, in the order they came, from every thread."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def refused(self, route: str) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.route == route and a.status == 503)

    def snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)


def call(
    journal: Journal, route: str, send: Callable[[], httpx.Response], *, once: bool = False
) -> Any:
    """Send until the API accepts, as a phone or a till does; the accepted body. ``once``:
    a report the phone does not send again (None when refused)."""
    deadline = time.monotonic() + GIVE_UP_S
    while True:
        start = time.monotonic()
        try:
            r = send()
        except Exception as error:  # the app's own, re-raised by the TestClient: a 500
            journal.add(Answer(route, 500, time.monotonic() - start, None, repr(error)))
            raise
        seconds = time.monotonic() - start
        body = r.json() if r.content else None
        journal.add(Answer(route, r.status_code, seconds, r.headers.get("Retry-After"), body))
        if r.status_code in OK:
            return body
        if r.status_code not in LATER or time.monotonic() > deadline:
            raise AssertionError(f"{route}: {r.status_code} {r.text}")
        if once:
            return None
        time.sleep(RETRY_PAUSE_S)


@dataclass(frozen=True, slots=True)
class FaultShop:
    shop: Shop
    tag_uid: str
    beacon_minor: int


@dataclass(frozen=True, slots=True)
class Phone:
    index: int
    user_id: int
    token: str
    tap_codes: tuple[str, ...]  # an offer code per shop, presented by a tap there
    till_code: str  # an offer code of shop 0, confirmed at its till
    purchase_token: str  # shown at shop 0's till when buying


@dataclass(frozen=True, slots=True)
class World:
    shops: list[FaultShop]
    phones: list[Phone]
    creator_id: int  # Ann: every phone opened her look of shop 0's item
    sku: str


RULE = {
    "currency": "EUR",
    "points_per_unit": 2,
    "per_purchase_cap": 150,
    "per_creator_daily_cap": 10_000,
    "attribution_days": 7,
    "return_days": 14,
}


def _ok(r: httpx.Response, status: int = 201) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def build_world(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> World:
    """SHOPS shops 300 m apart (geofence, offer, NFC tag, beacon), shop 0 selling an item
    with a reward rule; PHONES consenting shoppers, each with codes to present and a
    purchase token, who opened Ann's look of the item."""
    tech = api_key(sessions, Role.TECH)
    shops = []
    for k in range(SHOPS):
        shop = open_shop(client, sessions, name=f"Shop {k}", east_m=300.0 * k, segments=["fashion"])
        uid = f"04A22B1C5D80{k:02X}"
        body = {"uid": uid, "placement": "counter"}
        _ok(
            client.post(f"/v1/stores/{shop.store_id}/nfc-tags", json=body, headers=auth(shop.staff))
        )
        new_beacon(client, tech, shop.store_id, at=shop.center, ibeacon=ibeacon(minor=k + 1))
        shops.append(FaultShop(shop, uid, k + 1))
    first = shops[0].shop
    item = {
        "sku": "LEG-01",
        "name": "Leggings",
        "segment": "fashion",
        "price_minor": 300,
        "currency": "EUR",
    }
    item_id = _ok(
        client.post(f"/v1/stores/{first.store_id}/items", json=item, headers=auth(first.staff))
    )["id"]
    _ok(
        client.put(
            f"/v1/stores/{first.store_id}/reward-rule", json=RULE, headers=auth(first.staff)
        ),
        200,
    )
    phones = []
    with unit_of_work(sessions) as session:
        ann, _ = consenting_user(session, settings, timezone="Europe/Paris", interests=[])
        look_id = look(session, ann.id, item_id=item_id)
        for i in range(PHONES):
            user, token = consenting_user(
                session, settings, timezone="Europe/Paris", interests=["fashion"]
            )
            record_consent(
                session,
                user=user,
                choices={Purpose.BEACON_PROXIMITY: True},
                policy_version=settings.policy_version,
                default_policy=settings.policy_version,
                source="test",
                app_version=None,
            )
            register_device(session, user=user, token=f"fault-phone-{i}", platform="android")
            opened(session, look_id, user.id, utcnow() - timedelta(hours=1))

            def code(s: Shop, user_id: int = user.id) -> str:
                return issue_offer_code(
                    session,
                    user_id=user_id,
                    store_id=s.store_id,
                    offer_id=s.offer_id,
                    notification_id=None,
                    expires_at=None,
                ).code

            purchase = issue_purchase_token(
                session, user_id=user.id, store_id=first.store_id, now=utcnow()
            )
            phones.append(
                Phone(
                    i,
                    user.id,
                    token,
                    tuple(code(s.shop) for s in shops),
                    code(first),
                    purchase.code,
                )
            )
    return World(shops, phones, ann.id, "LEG-01")


def now() -> str:
    return datetime.now(UTC).isoformat()


class Phones(threading.Thread):
    """One phone's day: at each shop in turn a fix inside (ENTER: the offer pushed), a
    beacon heard and a tap presenting the shop's code, starting with a different one of the
    three per phone so an outage meets every event endpoint. Between the first shop and the
    others it keeps reporting fixes from inside the first until ``carry_on`` is set: traffic
    in flight when the fault strikes."""

    def __init__(
        self,
        client: TestClient,
        world: World,
        phone: Phone,
        journal: Journal,
        carry_on: threading.Event,
    ) -> None:
        super().__init__(name=f"phone-{phone.index}", daemon=True)
        self.client, self.world, self.phone, self.journal = client, world, phone, journal
        self.carry_on = carry_on
        self.first_shop_done = threading.Event()
        self.notifications: list[int] = []
        self.redeemed: list[str] = []
        self.error: BaseException | None = None
        # Fixes are dated as if the shops were minutes apart on foot, so walking from one
        # to the next is not taken for an impossible jump.
        self._since = time.time()

    def _fix_time(self, k: int) -> datetime:
        elapsed = time.time() - self._since
        return datetime.fromtimestamp(self._since - WALK_S * SHOPS + WALK_S * k + elapsed, UTC)

    def run(self) -> None:
        try:
            self._shop(0)
            self.first_shop_done.set()
            # Paced, to stay under the per-token rate limit (120 a minute).
            while not self.carry_on.wait(0.1):
                self._fix(0, once=True)
            for k in range(1, len(self.world.shops)):
                self._shop(k)
        except BaseException as error:
            self.error = error

    def _shop(self, k: int) -> None:
        steps = [self._fix, self._sighting, self._tap]
        turn = self.phone.index % len(steps)
        for step in steps[turn:] + steps[:turn]:
            step(k)

    def _post(self, route: str, body: dict[str, Any], *, once: bool = False) -> Any:
        headers = auth(self.phone.token)
        answer = call(
            self.journal,
            route,
            lambda: self.client.post(route, json=body, headers=headers),
            once=once,
        )
        if answer is not None:
            self.notifications.extend(answer.get("notifications", []))
        return answer

    def _fix(self, k: int, *, once: bool = False) -> None:
        lon, lat = self.world.shops[k].shop.center
        self._post("/v1/me/locations", {"fixes": [fix(lon, lat, self._fix_time(k))]}, once=once)

    def _sighting(self, k: int) -> None:
        heard = {"ibeacon": ibeacon(minor=self.world.shops[k].beacon_minor), "rssi": -60}
        self._post("/v1/me/sightings", {"sightings": [{**heard, "recorded_at": now()}]})

    def _tap(self, k: int) -> None:
        code = self.phone.tap_codes[k]
        body = {"uid": self.world.shops[k].tag_uid, "tapped_at": now(), "code": code}
        answer = self._post("/v1/me/taps", body)
        assert answer["redeemed"]["code"] == code, answer
        self.redeemed.append(code)


class Till(threading.Thread):
    """Shop 0's till: each phone's till code confirmed and its purchase reported."""

    def __init__(self, client: TestClient, world: World, journal: Journal) -> None:
        super().__init__(name="till", daemon=True)
        self.client, self.world, self.journal = client, world, journal
        self.redeemed: list[str] = []
        self.points: dict[str, int] = {}  # acknowledged points, by store purchase id
        self.error: BaseException | None = None
        self.route = f"/v1/stores/{world.shops[0].shop.store_id}/redemptions"

    def run(self) -> None:
        try:
            shop = self.world.shops[0].shop
            for phone in self.world.phones:
                self._post(self.route, {"code": phone.till_code})
                self.redeemed.append(phone.till_code)
                sale = {
                    "code": phone.purchase_token,
                    "store_purchase_id": f"till-{phone.index}",
                    "amount": "3.00",
                    "currency": "EUR",
                    "items": [{"sku": self.world.sku}],
                }
                bought = self._post(f"/v1/stores/{shop.store_id}/purchases", sale)
                self.points[bought["store_purchase_id"]] = bought["points"]
        except BaseException as error:
            self.error = error

    def _post(self, route: str, body: dict[str, Any]) -> Any:
        headers = auth(self.world.shops[0].shop.staff)
        return call(
            self.journal, route, partial(self.client.post, route, json=body, headers=headers)
        )


def assert_nothing_acknowledged_lost(
    sessions: sessionmaker[Session], world: World, phones: list[Phones], till: Till
) -> None:
    """Every notification, redemption and purchase the API answered 2xx for is in the
    database, and the creator's pending points are exactly the acknowledged ones."""
    notified = {n for p in phones for n in p.notifications}
    redeemed = {c for p in phones for c in p.redeemed} | set(till.redeemed)
    assert len(redeemed) == len(world.phones) * (len(world.shops) + 1)
    assert len(till.points) == len(world.phones)
    with sessions() as session:
        stored = set(session.scalars(select(Notification.id).where(Notification.id.in_(notified))))
        assert stored == notified, f"acknowledged notifications lost: {notified - stored}"
        used = set(
            session.scalars(
                select(Code.code).where(Code.code.in_(redeemed), Code.used_at.is_not(None))
            )
        )
        assert used == redeemed, f"acknowledged redemptions lost: {redeemed - used}"
        rows = session.execute(
            select(Purchase.store_purchase_id, Purchase.points).where(
                Purchase.store_id == world.shops[0].shop.store_id
            )
        )
        purchases = {row.store_purchase_id: row.points for row in rows}
        assert purchases == till.points, "acknowledged purchases lost or changed"
        pending = session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
                LedgerAccount.kind == AccountKind.USER_PENDING,
                LedgerAccount.user_id == world.creator_id,
            )
        )
    assert all(till.points.values()), till.points
    assert pending == sum(till.points.values())


def assert_outage_handled(
    journal: Journal,
    sessions: sessionmaker[Session],
    world: World,
    phones: list[Phones],
    till: Till,
    *,
    answer_bound_s: float,
) -> Answer:
    """The drill's verdict once every phone and the till are done: each answer 2xx, or 409
    busy / 503 unavailable with ``Retry-After``, none slower than ``answer_bound_s``, and
    nothing acknowledged lost. Returns the slowest answer."""
    assert [p.error for p in phones if p.error] == []
    assert till.error is None, till.error
    answers = journal.snapshot()
    assert {a.status for a in answers} <= {200, 201, 409, 503}, summary(answers)
    for a in answers:
        if a.status in (409, 503):
            assert a.retry_after, a
            assert a.body["error"] == ("unavailable" if a.status == 503 else "busy"), a
    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds < answer_bound_s, slowest
    assert_nothing_acknowledged_lost(sessions, world, phones, till)
    return slowest


def summary(answers: list[Answer]) -> str:
    """Answers by route and status, e.g. ``/v1/me/taps 200x12 503x40``."""
    counts = Counter((a.route.rsplit("/", 1)[-1], a.status) for a in answers)
    return ", ".join(f"{route} {status}x{n}" for (route, status), n in sorted(counts.items()))

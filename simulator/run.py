"""A simulation run: the city and the shoppers set up over the API, then every phone
walking its itinerary in real time, each sending what its core timeline says when it
says it, and acting on what the server answers (opening some pushes, then a friend's
look, redeeming an offer's code at the till, buying with a purchase token)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import httpx

from simulator import core
from simulator.api import Api, event_request
from simulator.setup import City, Shopper, load_city, sign_up_all
from simulator.stats import Stats

OPEN_SHARE = 0.4  # pushes the shopper opens
LOOK_SHARE = 0.7  # opened look pushes whose look they then view
REDEEM_SHARE = 0.25  # opened offers redeemed at the till
BUY_SHARE = 0.2  # opened pushes followed by a purchase, where the store sells items
FEED_SHARE = 0.1  # decisions after which the shopper scrolls their friends' feed
MAX_BATCH = 100  # the API's default VICINITY_MAX_BATCH


@dataclass(frozen=True)
class Config:
    url: str
    users: int = 200
    rate: float = 50.0  # events (fixes, sightings, taps) per second, all phones together
    duration_s: float = 60.0
    seed: int = 1
    batch_share: float = 0.3
    bad_share: float = 0.03
    concurrency: int = 64
    onboarding: int = 8  # phones signing up at once (the embedded SQLite takes few writers)

    def __post_init__(self) -> None:
        positive = (self.users, self.rate, self.duration_s, self.concurrency, self.onboarding)
        if min(positive) <= 0:
            raise ValueError("users, rate, duration and concurrencies must be positive")


@dataclass
class Result:
    config: Config
    city: City
    shoppers: int
    setup: dict[str, Any]
    run: dict[str, Any]
    series: list[dict[str, float]]

    def as_json(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "seed": self.config.seed,
            "city": {
                "stores": len(self.city.shops),
                "beacons": sum(1 for s in self.city.shops if s.beacon is not None),
                "nfc_tags": sum(1 for s in self.city.shops if s.nfc_uid is not None),
                "stores_selling": len(self.city.items),
                "segments": self.city.segments,
            },
            "shoppers": self.shoppers,
            "setup": self.setup,
            "run": self.run,
            "series": self.series,
        }


Action = Callable[[], Awaitable[None]]


class Phone:
    """One shopper's phone: its timeline's sends, and the follow-ups answers lead to."""

    def __init__(self, walk: Walk, shopper: Shopper, sends: Iterator[core.Send]) -> None:
        self.walk, self.shopper, self.sends = walk, shopper, sends
        self.rng = random.Random(f"{walk.config.seed}:{shopper.index}:habits")
        self.later: list[tuple[float, int, Action]] = []
        self._order = itertools.count()

    def after(self, delay_s: float, action: Action, now: float) -> None:
        heapq.heappush(self.later, (now + delay_s, next(self._order), action))

    async def live(self) -> None:
        send = next(self.sends, None)
        end = self.walk.config.duration_s
        while send is not None or self.later:
            due_send = send.at if send is not None else float("inf")
            due_later = self.later[0][0] if self.later else float("inf")
            due = min(due_send, due_later)
            if due >= end:
                return
            await self.walk.sleep_until(due)
            if due_later < due_send:
                _, _, action = heapq.heappop(self.later)
                await action()
            else:
                assert send is not None
                backlog, send = core.catch_up(send, self.sends, self.walk.now(), MAX_BATCH)
                await self.report(backlog)

    async def report(self, send: core.Send) -> None:
        stats = self.walk.stats
        path, body, refused = event_request(send, self.walk.epoch)
        stats.events_sent[send.kind] += len(send.events)
        for event in send.events:
            if isinstance(event, core.Fix) and event.bad is not None:
                stats.bad_fixes[event.bad.value] += 1
        start = time.monotonic()
        r = await self.walk.api.call(
            "POST",
            path,
            token=self.shopper.token,
            endpoint=send.kind,
            body=body,
            events=len(send.events),
            expect=refused,
        )
        if r is None or r.status_code != 200:
            return
        answer = r.json()
        stats.outcome(answer)
        if answer.get("notifications"):
            done = time.monotonic()
            stats.decided(now=done, latency_s=done - start)
        now = self.walk.now()
        for note in answer.get("notifications", []):
            if self.rng.random() < OPEN_SHARE:
                self.after(self.rng.uniform(3.0, 20.0), partial(self.open, int(note)), now)
            if self.rng.random() < FEED_SHARE and self.shopper.friends:
                self.after(self.rng.uniform(5.0, 30.0), self._feed, now)

    async def _feed(self) -> None:
        await self._me("GET", "/v1/me/feed", "feed")

    async def _me(
        self, method: str, path: str, endpoint: str, body: Any = None, expect: tuple[int, ...] = ()
    ) -> httpx.Response | None:
        return await self.walk.api.call(
            method, path, token=self.shopper.token, endpoint=endpoint, body=body, expect=expect
        )

    async def open(self, note: int) -> None:
        """Opening the push; a push held back or still queued cannot be opened (409)."""
        r = await self._me("POST", f"/v1/me/notifications/{note}/opened", "opened", expect=(409,))
        if r is None or r.status_code != 200:
            return
        self.walk.stats.actions["opened"] += 1
        pushed = r.json()
        store, now = pushed.get("store_id"), self.walk.now()
        look = (pushed.get("reason") or {}).get("look_id")
        if look is not None and self.rng.random() < LOOK_SHARE:
            seen = await self._me("POST", f"/v1/me/looks/{look}/opened", "look_opened")
            if seen is not None and seen.status_code == 204:
                self.walk.stats.actions["look_opened"] += 1
        offer = pushed.get("offer_id")
        if offer is not None and store is not None and self.rng.random() < REDEEM_SHARE:
            self.after(self.rng.uniform(10.0, 60.0), partial(self.redeem, store, offer), now)
        if store in self.walk.city.items and self.rng.random() < BUY_SHARE:
            self.after(self.rng.uniform(10.0, 60.0), partial(self.buy, store), now)

    async def redeem(self, store: int, offer: int) -> None:
        """The offer's code, shown at the till and confirmed by the store's staff."""
        r = await self._me("GET", "/v1/me/codes", "codes")
        if r is None or r.status_code != 200:
            return
        codes = [
            c["code"]
            for c in r.json()["items"]
            if c["offer_id"] == offer and c["store_id"] == store and c["used_at"] is None
        ]
        if not codes:
            return
        done = await self.walk.api.call(
            "POST",
            f"/v1/stores/{store}/redemptions",
            token=self.walk.key,
            endpoint="redeem",
            body={"code": codes[0]},
            expect=(409,),
        )
        if done is not None and done.status_code == 200:
            self.walk.stats.actions["redeemed"] += 1

    async def buy(self, store: int) -> None:
        """A purchase with a one-time purchase token, reported by the store's till."""
        r = await self._me(
            "POST", "/v1/me/purchase-tokens", "purchase_token", {"store_id": store}, (409,)
        )
        if r is None or r.status_code != 201:
            return
        item = self.rng.choice(self.walk.city.items[store])
        self.shopper.purchases += 1
        sale = {
            "code": r.json()["code"],
            "store_purchase_id": f"sim-{self.shopper.user_id}-{self.shopper.purchases}",
            "amount": f"{item.price_minor / 100:.2f}",
            "currency": item.currency,
            "items": [{"sku": item.sku}],
        }
        done = await self.walk.api.call(
            "POST",
            f"/v1/stores/{store}/purchases",
            token=self.walk.key,
            endpoint="purchase",
            body=sale,
        )
        if done is not None and done.status_code in (200, 201):
            self.walk.stats.actions["purchased"] += 1


class Walk:
    """The clock and shared state of one run's walking phase."""

    def __init__(self, config: Config, key: str, api: Api, city: City, stats: Stats) -> None:
        self.config, self.key, self.api, self.city, self.stats = config, key, api, city, stats
        self.started = time.monotonic()
        self.epoch = time.time()

    def now(self) -> float:
        return time.monotonic() - self.started

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


async def simulate(
    config: Config,
    key: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_start: Callable[[Stats], None] | None = None,
) -> Result:
    """Set up, walk for ``config.duration_s``, and return every figure."""
    limits = httpx.Limits(
        max_connections=config.concurrency, max_keepalive_connections=config.concurrency
    )
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(
        base_url=config.url, limits=limits, timeout=timeout, transport=transport
    ) as client:
        setup_stats = Stats(time.monotonic())
        far = time.monotonic() + 3_600.0
        setup_api = Api(client, setup_stats, concurrency=config.concurrency, deadline=far)
        city = await load_city(setup_api, key)
        shoppers = await sign_up_all(
            setup_api, config.users, config.seed, city, at_once=config.onboarding
        )
        setup_summary = setup_stats.summary(time.monotonic() - setup_stats.started)

        stats = Stats(time.monotonic())
        api = Api(
            client,
            stats,
            concurrency=config.concurrency,
            deadline=stats.started + config.duration_s,
        )
        walk = Walk(config, key, api, city, stats)
        phones_of = core.behaviours(
            config.users,
            config.rate,
            config.seed,
            batch_share=config.batch_share,
            bad_share=config.bad_share,
        )
        phones = [
            Phone(
                walk,
                s,
                core.shopper(
                    city.shops, phones_of[s.index], f"{config.seed}:{s.index}", config.duration_s
                ),
            )
            for s in shoppers
        ]
        if on_start is not None:
            on_start(stats)
        await asyncio.gather(*(p.live() for p in phones))
        elapsed = time.monotonic() - stats.started
    return Result(
        config, city, len(shoppers), setup_summary, stats.summary(elapsed), stats.series()
    )

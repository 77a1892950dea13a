"""Before the walk: the city as the API shows it, and the shoppers signing up.

With an operator key the simulator lists the stores, their offers' segments and their
catalogues, and gives each store a beacon and a counter NFC tag of its own if it has none
(identities derived from the store id, so a second run finds them: a 409 is expected).
Each shopper then signs up, consents to purposes, picks interests and registers a device,
as the app's onboarding does; in circles of five, one posts a look tagging an item and
invites the others, so friends' looks can be pushed, opened and bought through.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from simulator.api import Api
from simulator.core import Beacon, Shop
from simulator.errors import SetupFailed

SIM_BEACON_UUID = "5e0c1a7e-0000-4000-8000-000000005111"
CIRCLE = 5
CONSENT_SHARES = {"location_offers": 0.95, "beacon_proximity": 0.7, "friends_looks": 0.6}


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    sku: str
    price_minor: int
    currency: str


@dataclass
class City:
    shops: list[Shop]
    items: dict[int, list[Item]]  # store id → items a shopper may buy there
    segments: list[str]  # what the stores' offers target


@dataclass
class Shopper:
    index: int
    user_id: int
    token: str
    friends: bool = False
    purchases: int = field(default=0)


def nfc_uid(store_id: int) -> str:
    """A 7-byte UID of the simulator's own (prefix 5E), one per store."""
    return f"5E{store_id:012X}"


async def _pages(api: Api, path: str, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        r = await api.call(
            "GET", path, token=key, endpoint="setup", params={"after": after, "limit": 200}
        )
        if r is None or r.status_code != 200:
            raise SetupFailed(f"GET {path}: {'no answer' if r is None else r.text[:200]}")
        page = r.json()
        rows.extend(page["items"])
        if page["next_after"] is None:
            return rows
        after = page["next_after"]


async def load_city(api: Api, key: str) -> City:
    """The stores with a location, each with a beacon and an NFC tag (made when missing)."""
    stores = [s for s in await _pages(api, "/v1/stores", key) if s.get("location")]
    if not stores:
        raise SetupFailed("no store with a location: start the server with the demo city")
    shops: list[Shop] = []
    items: dict[int, list[Item]] = {}
    segments: set[str] = set()
    for store in stores:
        sid, where = store["id"], store["location"]
        beacon = Beacon(SIM_BEACON_UUID, sid % 0x10000, 1)
        placement = {
            "store_id": sid,
            "zone": "shop floor",
            "lon": where["lon"],
            "lat": where["lat"],
        }
        ibeacon = {"uuid": beacon.uuid, "major": beacon.major, "minor": beacon.minor}
        body = {**placement, "ibeacon": ibeacon, "measured_power_1m": -59}
        made = await api.call(
            "POST", "/v1/beacons", token=key, endpoint="setup", body=body, expect=(409,)
        )
        tag = {"uid": nfc_uid(sid), "placement": "counter"}
        tagged = await api.call(
            "POST",
            f"/v1/stores/{sid}/nfc-tags",
            token=key,
            endpoint="setup",
            body=tag,
            expect=(409,),
        )
        shops.append(
            Shop(
                sid,
                where["lon"],
                where["lat"],
                beacon if made is not None and made.status_code in (201, 409) else None,
                tag["uid"] if tagged is not None and tagged.status_code in (201, 409) else None,
            )
        )
        for offer in await _pages(api, f"/v1/stores/{sid}/offers", key):
            segments.update(offer.get("segments") or [])
        sold = [
            Item(i["id"], i["sku"], i["price_minor"], i["currency"])
            for i in await _pages(api, f"/v1/stores/{sid}/items", key)
            if i.get("active")
        ]
        if sold:
            items[sid] = sold
    return City(shops, items, sorted(segments))


async def _policy(api: Api) -> str:
    r = await api.call("GET", "/v1/policies/current", token="", endpoint="setup")
    if r is None or r.status_code != 200:
        raise SetupFailed("GET /v1/policies/current failed")
    return str(r.json()["version"])


async def sign_up(api: Api, index: int, seed: int, city: City, policy: str) -> Shopper | None:
    """One shopper's onboarding; None when the server refused it (counted as errors)."""
    rng = random.Random(f"{seed}:{index}:onboarding")
    body = {"locale": rng.choice(["en", "fr"]), "timezone": "Europe/Paris"}
    r = await api.call("POST", "/v1/users", token="", endpoint="sign_up", body=body)
    if r is None or r.status_code != 201:
        return None
    created = r.json()
    shopper = Shopper(index, created["id"], created["token"])
    purposes = {p: rng.random() < share for p, share in CONSENT_SHARES.items()}
    consent = {"purposes": purposes, "policy_version": policy, "source": "simulator"}
    interests = rng.sample(city.segments, k=min(len(city.segments), rng.randint(1, 3)))
    device = {"token": f"sim-{seed}-{index}", "platform": rng.choice(["android", "ios"])}
    profile = {"display_name": f"Shopper {index}"}
    for method, path, payload in (
        ("PUT", "/v1/me/consent", consent),
        ("PUT", "/v1/me/interests", {"segments": interests}),
        ("POST", "/v1/me/devices", device),
        ("PUT", "/v1/me/profile", profile),
    ):
        await api.call(method, path, token=shopper.token, endpoint="onboarding", body=payload)
    return shopper


async def sign_up_all(
    api: Api, users: int, seed: int, city: City, *, at_once: int
) -> list[Shopper]:
    policy = await _policy(api)
    # Onboarding comes in waves, not all at once: at most ``at_once`` phones at a time.
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> Shopper | None:
        async with gate:
            return await sign_up(api, i, seed, city, policy)

    shoppers = [s for s in await asyncio.gather(*(one(i) for i in range(users))) if s is not None]

    async def befriend(circle: list[Shopper]) -> None:
        async with gate:
            await _circle(api, circle, city)

    circles = [shoppers[i : i + CIRCLE] for i in range(0, len(shoppers), CIRCLE)]
    await asyncio.gather(*(befriend(c) for c in circles))
    return shoppers


async def _circle(api: Api, circle: list[Shopper], city: City) -> None:
    """The first of a circle posts a look tagging an item sold nearby and befriends the rest."""
    if len(circle) < 2 or not city.items:
        return
    author, *friends = circle
    item = random.Random(author.index).choice([i for sold in city.items.values() for i in sold])
    look = {
        "caption": "Found this today",
        "hashtags": ["simulated"],
        "tags": [{"item_id": item.id}],
    }
    await api.call("POST", "/v1/me/looks", token=author.token, endpoint="looks", body=look)
    for friend in friends:
        r = await api.call("POST", "/v1/me/friends/invites", token=author.token, endpoint="friends")
        if r is None or r.status_code != 201:
            continue
        code = {"code": r.json()["code"]}
        a = await api.call(
            "POST", "/v1/me/friends/accept", token=friend.token, endpoint="friends", body=code
        )
        if a is not None and a.status_code == 201:
            author.friends = friend.friends = True

"""Beacon sightings resolved per second, one core: in the core, and through the batch endpoint.

Core: 200,000 raw advertisements (half iBeacon, a quarter Eddystone-UID, a quarter
Eddystone-EID rotating with K = 10) from 10,000 registered beacons in 200 stores are
parsed, resolved to a beacon (a dict for static ids, the precomputed EID table for
EIDs), and folded into Kalman tracks and a zone observation in batches of 20 sightings
of one user, as phones send them: 1,000 users, each hearing the beacons of one store.

Endpoint: ``POST /v1/me/sightings`` in-process (FastAPI TestClient), batches of 20
sightings (a third structured iBeacon ids, a third raw advertisements, a third EIDs)
from 200 consented users, each shopping in one aisle, among 40 beacons in 4 zones of
one store with a zone offer; on the embedded default (SQLite, in-memory presence) and,
when reachable, on PostgreSQL/PostGIS and Redis (``VICINITY_BENCH_DATABASE_URL``,
``VICINITY_BENCH_REDIS_URL``). Each request is one transaction: authenticate, resolve,
replay guard, fleet health, consent, presence, and the decision on ENTER and DWELL
(each user's first ENTER records a notification, delivered to the outbox).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import redis
from sqlalchemy.engine import make_url

from beacons.eid import EidRegistration, EidResolver, compute_eid
from beacons.frames import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    EddystoneEid,
    EddystoneUid,
    IBeacon,
    parse_advertisement,
)
from beacons.zones import (
    BeaconTrack,
    Reading,
    ZoneRules,
    observe_zones,
    sighting_from_frames,
    zone_of,
)

CORE_ADVERTS = 200_000
CORE_BEACONS = 10_000
CORE_USERS = 1_000
STORE_BEACONS = 50
BATCH = 20
USERS = 200
BATCHES_PER_USER = 10
ENDPOINT_BEACONS = 40
ROTATION = 10
UUID_BASE = UUID("f7826da6-4fa2-4e98-8024-bc5b71e0893e")
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1/vicinity_bench_beacons"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"

Advert = tuple[dict[int, bytes], dict[str, bytes], int, float]
SightingOf = Callable[[float], dict[str, Any]]


# Core


def core_fleet(
    rng: random.Random, now: float
) -> tuple[dict[str, tuple[int, str, int]], EidResolver, list[Any]]:
    """Registry by identity → (beacon id, zone, power), the EID table, and the frames' makers.

    Beacon ``n`` is in store ``n // 50``; a quarter are EID, half iBeacon, a quarter UID.
    """
    registry: dict[str, tuple[int, str, int]] = {}
    makers: list[Any] = []
    registrations = []
    for n in range(CORE_BEACONS):
        zone = zone_of(n // STORE_BEACONS, f"zone {n % 5}")
        if n % 4 == 0:
            key = rng.randbytes(16)
            epoch = int(now) - 1000 - rng.randrange(10**6)
            identity = f"eid-{n}"
            registrations.append(EidRegistration(identity, key, ROTATION, epoch))
            makers.append(("eid", key, epoch))
        elif n % 4 < 3:
            frame: Any = IBeacon(UUID_BASE, n // 65536, n % 65536, -59)
            identity = frame.identity
            makers.append(("m", frame.to_manufacturer_payload()))
        else:
            frame = EddystoneUid(-20, n.to_bytes(10, "big"), bytes(6))
            identity = frame.identity
            makers.append(("s", frame.to_service_data()))
        registry[identity] = (n, zone, -59)
    return registry, EidResolver.build(registrations, now), makers


def core_adverts(rng: random.Random, makers: list[Any], now: float) -> list[Advert]:
    """Batches of 20 from 1,000 users, each hearing the beacons of one store."""
    adverts: list[Advert] = []
    for i in range(CORE_ADVERTS):
        user = (i // BATCH) % CORE_USERS
        n = (user % (CORE_BEACONS // STORE_BEACONS)) * STORE_BEACONS + rng.randrange(STORE_BEACONS)
        at, rssi, kind = now - 600 + i * 0.002, rng.randint(-95, -50), makers[n]
        if kind[0] == "eid":
            eid = compute_eid(kind[1], ROTATION, int(at) - kind[2])
            service = {EDDYSTONE_SERVICE_UUID: EddystoneEid(-20, eid).to_service_data()}
            adverts.append(({}, service, rssi, at))
        elif kind[0] == "m":
            adverts.append(({APPLE_COMPANY_ID: kind[1]}, {}, rssi, at))
        else:
            adverts.append(({}, {EDDYSTONE_SERVICE_UUID: kind[1]}, rssi, at))
    return adverts


def run_core() -> None:
    rng = random.Random(7)
    now = time.time()
    registry, resolver, makers = core_fleet(rng, now)
    adverts = core_adverts(rng, makers, now)
    rules = ZoneRules()

    def resolve(advert: Advert) -> Reading | None:
        manufacturer, service, rssi, at = advert
        sighting = sighting_from_frames(parse_advertisement(manufacturer, service), rssi, at)
        identity = sighting.identity
        if identity is None and sighting.eid is not None:
            identity = resolver.resolve(sighting.eid)
        placed = registry.get(identity) if identity is not None else None
        if placed is None:
            return None
        return Reading(placed[0], placed[1], placed[2], sighting.rssi, sighting.at_s)

    started = time.perf_counter()
    resolved = [resolve(a) for a in adverts]
    parse_s = time.perf_counter() - started
    missing = sum(r is None for r in resolved)
    assert missing == 0, f"{missing} advertisements did not resolve"

    tracks: dict[int, dict[int, BeaconTrack]] = {}
    started = time.perf_counter()
    for start in range(0, CORE_ADVERTS, BATCH):
        user = (start // BATCH) % CORE_USERS
        batch = [r for a in adverts[start : start + BATCH] if (r := resolve(a)) is not None]
        report = observe_zones(tracks.get(user, {}), batch, (), rules)
        tracks[user] = report.tracks
    full_s = time.perf_counter() - started

    print(f"  core, {CORE_ADVERTS:,} raw advertisements from {CORE_BEACONS:,} beacons:")
    print(f"    parse + resolve:                      {CORE_ADVERTS / parse_s:>10,.0f} sightings/s")
    print(f"    parse + resolve + smooth + observe:   {CORE_ADVERTS / full_s:>10,.0f} sightings/s")


# Endpoint


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _fresh_postgres(url: str) -> bool:
    parsed = make_url(url)
    admin = (
        f"host={parsed.host or '127.0.0.1'} user={parsed.username or 'postgres'} dbname=postgres"
    )
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {parsed.database}")
        target = admin.replace("dbname=postgres", f"dbname={parsed.database}")
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error:
        return False
    return True


def _fresh_redis(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
        client.close()
    except redis.RedisError:
        return False
    return True


def _walks(rng: random.Random, beacons: list[SightingOf], now: float) -> Iterator[Any]:
    """Per user and batch: 20 sightings of the 4 beacons around the aisle the user shops
    in, one of them near; batches 30 s apart. In steady state: one ENTER and one DWELL
    per user and zone, every other batch only refreshes presence."""
    for batch in range(BATCHES_PER_USER):
        for user in range(USERS):
            home = (user * 3) % (len(beacons) - 3)
            at = now - 600 + batch * 30 + user * 0.01
            sightings = []
            for k in range(BATCH):
                beacon = beacons[home + k % 4]
                rssi = -55 - 10 * (k % 4) - rng.randint(0, 8)
                recorded = datetime.fromtimestamp(at + k * 0.5, UTC).isoformat()
                sightings.append({**beacon(at + k * 0.5), "rssi": rssi, "recorded_at": recorded})
            yield user, sightings


def run_endpoint(label: str, database_url: str, redis_url: str | None) -> None:
    from fastapi.testclient import TestClient

    from accounts.service import create_api_key
    from kernel.config import Settings
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from kernel.principal import Role
    from preferences.segments import seed_taxonomy
    from server.app import create_app
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory() as var:
        settings = Settings(
            database_url=database_url.replace("{var}", var),
            redis_url=redis_url,
            var_dir=Path(var),
            celery_eager=True,
        )
        engine = make_engine(settings)
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_taxonomy(session)
            _, operator = create_api_key(session, name="bench", role=Role.OPERATOR, store_ids=[])
            _, tech = create_api_key(
                session, name="bench tech", role=Role.TECH, store_ids=[], all_stores=True
            )
        engine.dispose()
        rng = random.Random(11)
        now = time.time()
        with TestClient(create_app(settings)) as client:
            store = client.post("/v1/stores", json={"name": "Bench"}, headers=_auth(operator))
            store_id = store.json()["id"]
            beacons = [
                _endpoint_beacon(client, tech, store_id, n, now) for n in range(ENDPOINT_BEACONS)
            ]
            # After the beacons: an offer may only name zones the store has beacons in.
            offer = client.post(
                f"/v1/stores/{store_id}/offers",
                json={"title": "Boots", "body": "-20%", "segments": ["shoes"], "zones": ["z0"]},
                headers=_auth(operator),
            )
            assert offer.status_code == 201, offer.text
            tokens = [_endpoint_user(client, settings.policy_version, u) for u in range(USERS)]
            walks = list(_walks(rng, beacons, now))
            sent = accepted = 0
            started = time.perf_counter()
            for user, sightings in walks:
                r = client.post(
                    "/v1/me/sightings", json={"sightings": sightings}, headers=_auth(tokens[user])
                )
                assert r.status_code == 200, r.text
                sent += len(sightings)
                accepted += r.json()["accepted"]
            elapsed = time.perf_counter() - started
    requests = USERS * BATCHES_PER_USER
    print(f"  endpoint, {label}: {requests:,} batches of {BATCH} ({accepted:,}/{sent:,} accepted):")
    print(f"    {sent / elapsed:>10,.0f} sightings/s, {1000 * elapsed / requests:.2f} ms per batch")


def _endpoint_beacon(client: Any, tech: str, store_id: int, n: int, now: float) -> SightingOf:
    """Register beacon ``n``; returns how a phone reports it at a given time."""
    body: dict[str, Any] = {"store_id": store_id, "zone": f"z{n // 10}", "lon": 2.35, "lat": 48.86}
    body["measured_power_1m"] = -59
    key, epoch = os.urandom(16), int(now) - 100_000
    ibeacon = {"uuid": str(UUID_BASE), "major": 1, "minor": n}
    payload = IBeacon(UUID_BASE, 2, n, -59).to_manufacturer_payload().hex()
    advertisement = {"manufacturer_data": {str(APPLE_COMPANY_ID): payload}}
    if n % 3 == 0:
        body["ibeacon"] = ibeacon
    elif n % 3 == 1:
        body["advertisement"] = advertisement
    else:
        body["eddystone_eid"] = {"identity_key": key.hex(), "rotation_exponent": ROTATION,
                                 "epoch_s": epoch}  # fmt: skip
    r = client.post("/v1/beacons", json=body, headers=_auth(tech))
    assert r.status_code == 201, r.text

    def sighting_of(at: float) -> dict[str, Any]:
        if n % 3 == 0:
            return {"ibeacon": ibeacon}
        if n % 3 == 1:
            return {"advertisement": advertisement}
        return {"eddystone_eid": {"eid": compute_eid(key, ROTATION, int(at) - epoch).hex()}}

    return sighting_of


def _endpoint_user(client: Any, policy: str, n: int) -> str:
    token = str(client.post("/v1/users", json={}).json()["token"])
    consent = {"purposes": {"beacon_proximity": True}, "policy_version": policy}
    client.put("/v1/me/consent", json=consent, headers=_auth(token))
    client.put("/v1/me/interests", json={"segments": ["shoes"]}, headers=_auth(token))
    client.post(
        "/v1/me/devices", json={"token": f"bench-{n}", "platform": "android"}, headers=_auth(token)
    )
    return token


def main() -> None:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    print("beacon sightings resolved per second, one core")
    run_core()
    run_endpoint("embedded (SQLite, in-memory presence)", "sqlite:///{var}/bench.db", None)
    db = os.environ.get("VICINITY_BENCH_DATABASE_URL", DEFAULT_DB)
    cache = os.environ.get("VICINITY_BENCH_REDIS_URL", DEFAULT_REDIS)
    if _fresh_postgres(db) and _fresh_redis(cache):
        run_endpoint("PostgreSQL/PostGIS and Redis", db, cache)
    else:
        print(f"  endpoint on PostgreSQL and Redis skipped: {db} or {cache} not reachable")


if __name__ == "__main__":
    main()

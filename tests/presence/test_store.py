"""Presence lives in Redis with a TTL, holds zones only (no coordinates), and is locked."""

from __future__ import annotations

import json
import threading

import redis

from presence.core import Observation, Presence, advance
from presence.store import KEY, MemoryPresenceStore, RedisPresenceStore


def test_presence_round_trips_with_a_ttl_and_no_coordinates(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120)
    state, _ = advance(Presence(), Observation("geofence", 100.0, frozenset({"geofence:7"})), {})
    store.save(42, state)
    raw = json.loads(redis_client.get(KEY.format(42)))  # type: ignore[arg-type]
    assert set(raw) == {"zones", "last_at"}
    assert 0 < redis_client.ttl(KEY.format(42)) <= 120
    assert store.load(42) == state
    store.clear(42)
    assert store.load(42) == Presence()


def test_the_lock_serialises_one_users_batches(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120)
    counter = {"n": 0}

    def bump() -> None:
        for _ in range(20):
            with store.locked(1):
                n = counter["n"]
                state = Presence(last_at={"geofence": float(n)})
                store.save(1, state)
                counter["n"] = int(store.load(1).last_at["geofence"]) + 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter["n"] == 80


def test_memory_store_expires() -> None:
    store = MemoryPresenceStore(ttl_s=0)
    store.save(1, Presence(last_at={"geofence": 1.0}))
    assert store.load(1) == Presence()

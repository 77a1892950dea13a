"""Presence lives in Redis with a TTL, holds zones only (no coordinates), and is locked
by a fenced lease: lock + load and save + unlock are one round trip each."""

from __future__ import annotations

import json
import threading

import pytest
import redis

from kernel.errors import Busy, Unauthorized
from presence.core import Observation, Presence, advance
from presence.store import KEY, LOCK_KEY, STALE_KEY, MemoryPresenceStore, RedisPresenceStore


def _inside(at: float) -> Presence:
    state, _ = advance(Presence(), Observation("geofence", at, frozenset({"geofence:7"})), {})
    return state


def test_presence_round_trips_with_a_ttl_and_no_coordinates(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120)
    state = _inside(100.0)
    held = store.acquire(42)
    assert held.presence == Presence()
    assert store.commit(held, state)
    raw = json.loads(redis_client.get(KEY.format(42)))  # type: ignore[arg-type]
    assert set(raw) == {"zones", "last_at"}
    assert 0 < redis_client.ttl(KEY.format(42)) <= 120
    assert redis_client.get(LOCK_KEY.format(42)) is None  # committing unlocked
    assert store.load(42) == state
    assert store.acquire(42).presence == state  # loaded with the lock, one round trip
    store.clear(42)
    assert store.load(42) == Presence()
    assert redis_client.zscore(STALE_KEY, 42) is None


def test_the_lock_serialises_one_users_batches(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120, wait_s=30.0)
    counter = {"n": 0}

    def bump() -> None:
        for _ in range(20):
            held = store.acquire(1)
            n = int(held.presence.last_at.get("geofence", -1.0)) + 1
            counter["n"] = n + 1
            assert store.commit(held, Presence(last_at={"geofence": float(n)}))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter["n"] == 80
    assert store.load(1).last_at == {"geofence": 79.0}


def test_a_lock_held_elsewhere_is_busy_with_retry_after(redis_client: redis.Redis) -> None:
    redis_client.set(LOCK_KEY.format(5), "someone else", px=60_000)
    store = RedisPresenceStore(redis_client, ttl_s=120, wait_s=0.05)
    with pytest.raises(Busy) as caught:
        store.acquire(5)
    assert (caught.value.status_code, caught.value.retry_after) == (409, 1)


def test_a_lease_that_ran_out_never_overwrites_the_next_holder(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120, lease_s=0.05)
    slow = store.acquire(9)
    # The lease runs out while the slow request is still in its transaction...
    later = RedisPresenceStore(redis_client, ttl_s=120, wait_s=5.0).acquire(9)
    assert store.commit(later, _inside(200.0))
    # ...so its save is fenced out instead of writing state computed from an older load.
    assert not store.commit(slow, _inside(100.0))
    assert store.load(9) == _inside(200.0)
    store.release(slow)  # a no-op: the lock is not its own any more
    again = store.acquire(9)
    store.release(again)
    assert redis_client.get(LOCK_KEY.format(9)) is None


def test_the_stale_index_finds_users_whose_zones_went_quiet(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=3600, stale_s=600)
    store.commit(store.acquire(1), _inside(1000.0))
    store.commit(store.acquire(2), _inside(1300.0))
    store.commit(store.acquire(3), Presence(last_at={"geofence": 0.0}))  # in no zone
    assert store.stale_users(now=1599.0, limit=10) == []
    assert store.stale_users(now=1600.0, limit=10) == [1]
    assert sorted(store.stale_users(now=5000.0, limit=10)) == [1, 2]
    assert len(store.stale_users(now=5000.0, limit=1)) == 1
    store.commit(store.acquire(1), Presence(last_at={"geofence": 2000.0}))  # left
    assert store.stale_users(now=5000.0, limit=10) == [2]


def test_memory_store_locks_and_is_busy_when_held() -> None:
    store = MemoryPresenceStore(ttl_s=60, wait_s=0.01)
    held = store.acquire(1)
    with pytest.raises(Busy):
        store.acquire(1)
    store.commit(held, _inside(1.0))
    assert store.acquire(1).presence == _inside(1.0)


def test_memory_store_evicts_expired_entries_without_a_read_and_is_bounded() -> None:
    clock = {"now": 0.0}
    store = MemoryPresenceStore(ttl_s=60, maxsize=3, timer=lambda: clock["now"])
    for user in range(1, 3):
        store.commit(store.acquire(user), _inside(1.0))
    assert len(store) == 2
    clock["now"] = 61.0
    assert len(store) == 0  # gone by themselves, not at their next read
    for user in range(10, 20):
        store.commit(store.acquire(user), _inside(1.0))
    assert len(store) == 3
    assert store.load(19) == _inside(1.0)


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_a_sealed_user_holds_no_presence_again(redis_client: redis.Redis, kind: str) -> None:
    """Erasure seals presence: the next acquire is refused, and a request that held the
    lock across the erasure saves nothing."""
    store = (
        RedisPresenceStore(redis_client, ttl_s=120)
        if kind == "redis"
        else MemoryPresenceStore(ttl_s=120)
    )
    during = store.acquire(3)
    store.seal(3)
    assert not store.commit(during, _inside(100.0))
    assert store.load(3) == Presence()
    with pytest.raises(Unauthorized):
        store.acquire(3)
    assert store.acquire(4).presence == Presence()  # others are untouched

"""Both presence stores list the users present in a zone, in batches, read only: the
broadcast's audience comes from presence, never from stored locations."""

from __future__ import annotations

import redis

from presence.core import Observation, Presence, advance
from presence.store import KEY, MemoryPresenceStore, PresenceStore, RedisPresenceStore


def _inside(zone: str, at: float) -> Presence:
    state, _ = advance(Presence(), Observation("geofence", at, frozenset({zone})), {})
    return state


def _fill(store: PresenceStore) -> dict[int, Presence]:
    present = {uid: _inside(f"geofence:{uid % 3}", 100.0 + uid) for uid in range(1, 8)}
    for uid, state in present.items():
        assert store.commit(store.acquire(uid), state)
    # Left every zone: no longer present (and out of the stale index).
    assert store.commit(store.acquire(20), Presence(last_at={"geofence": 150.0}))
    return present


def _listed(store: PresenceStore, batch: int) -> tuple[dict[int, Presence], list[int]]:
    found: dict[int, Presence] = {}
    sizes = []
    for part in store.live(batch=batch):
        sizes.append(len(part))
        found.update(part)
    return found, sizes


def test_the_redis_store_lists_live_presence_in_batches(redis_client: redis.Redis) -> None:
    store = RedisPresenceStore(redis_client, ttl_s=120)
    present = _fill(store)
    found, sizes = _listed(store, batch=3)
    assert found == present
    assert max(sizes) <= 3
    # Presence past its TTL is gone, even while the stale index still names the user.
    redis_client.delete(KEY.format(4))
    found, _ = _listed(store, batch=100)
    assert set(found) == set(present) - {4}
    assert redis_client.get("vicinity:lock:presence:1") is None  # read, never locked


def test_the_memory_store_lists_live_presence_in_batches() -> None:
    store = MemoryPresenceStore(ttl_s=120)
    present = _fill(store)
    found, sizes = _listed(store, batch=3)
    assert found == present
    assert sizes == [3, 3, 1]

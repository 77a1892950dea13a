"""The replay guard on real Redis: pending until kept, and a failed request's mark is
answered 409 busy (retry) rather than taken for a replay, until it expires."""

from __future__ import annotations

import time

import pytest
import redis

from beacons.store import RedisSightingStore
from kernel.errors import Busy
from tests.e2e.servers import wait_until


def _store(client: redis.Redis, pending_ttl_s: float = 30.0) -> RedisSightingStore:
    return RedisSightingStore(client, track_ttl_s=60, replay_ttl_s=60, pending_ttl_s=pending_ttl_s)


def test_a_kept_mark_is_a_replay_and_a_forgotten_one_is_new(redis_client: redis.Redis) -> None:
    store = _store(redis_client)
    assert store.first_seen(["1:3:1000", "1:3:2000", "1:3:1000"]) == [True, True, False]
    store.keep_seen(["1:3:1000"])
    store.forget_seen(["1:3:2000"])
    assert store.first_seen(["1:3:1000", "1:3:2000"]) == [False, True]


def test_a_pending_mark_is_busy_and_leaves_nothing_of_the_refused_request(
    redis_client: redis.Redis,
) -> None:
    store = _store(redis_client)
    store.first_seen(["1:3:1000"])  # a request that died before keeping or forgetting it
    with pytest.raises(Busy):
        store.first_seen(["1:3:2000", "1:3:1000"])
    assert store.first_seen(["1:3:2000"]) == [True]  # not left marked by the refused one


def test_a_pending_mark_expires_with_the_lease(redis_client: redis.Redis) -> None:
    store = _store(redis_client, pending_ttl_s=0.2)
    store.first_seen(["1:3:1000"])
    started = time.monotonic()

    def new_again() -> bool:
        try:
            return store.first_seen(["1:3:1000"]) == [True]
        except Busy:
            return False

    wait_until(new_again, 5, "the pending mark to expire")
    assert time.monotonic() - started >= 0.15

"""Where the funnel's counts wait for the flush: Redis in production, memory when embedded.

Counting is one round trip per transaction (``HINCRBY`` into the hour's hash) instead of a
row lock on a hot counter in the database; ``funnel.flush`` (a beat job, every minute)
moves the counts into ``funnel_counts``. Until then they live only here: **counts not yet
flushed are lost with Redis** (a restart without persistence) and, in the embedded
default, with the process. At worst a minute of counts; the notifications themselves are
in the database either way.

A flush first *sets aside* each hour's hash as a batch (an atomic rename to a batch key),
so counting goes on into a fresh hash while the batch is written; the batch is forgotten
only once the database holds it (``funnel.flush`` records its id in the same transaction,
so a batch left behind by a crash is never added twice).

The process's store is module state (like ``kernel.metrics``' counters): the server's
runtime installs the Redis one at start; until then counts go to memory.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

import redis

from funnel.core import CountKey, field_of, hour_stamp, key_of, parse_hour_stamp, store_prefix

LIVE_KEY = "vicinity:funnel:live:{}"  # hash per hour stamp: field → count
HOURS_KEY = "vicinity:funnel:hours"  # set of the hour stamps with a live hash
BATCH_KEY = "vicinity:funnel:batch:{}"  # hash per batch set aside
BATCHES_KEY = "vicinity:funnel:batches"  # set of the batch ids set aside, not yet forgotten

# KEYS: live, hours, batch, batches. ARGV: hour stamp, batch id. → 1 when set aside.
_SET_ASIDE = """
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[3])
redis.call('SADD', KEYS[4], ARGV[2])
return 1
"""


class Batch(NamedTuple):
    """One hour's counts, set aside for the flush; ``id`` is unique across time."""

    id: str
    counts: dict[CountKey, int]


class CounterStore(Protocol):
    def add(self, counts: Mapping[CountKey, int]) -> None:
        """Add the counts, all or none."""
        ...

    def unflushed(self, *, store_id: int, hours: Sequence[datetime]) -> dict[CountKey, int]:
        """A store's counts of those hours not set aside yet (what the table lacks)."""
        ...

    def set_aside(self) -> list[Batch]:
        """Move every hour's counts into a batch; returns every batch not forgotten yet,
        including those an interrupted flush left behind."""
        ...

    def forget(self, batch_id: str) -> None:
        """Drop a batch the database now holds."""
        ...


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _batch_id(stamp: str) -> str:
    return f"{stamp}.{uuid.uuid4().hex}"


def _hour_of_batch(batch_id: str) -> datetime:
    return parse_hour_stamp(batch_id.split(".", 1)[0])


class RedisCounterStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._set_aside = client.register_script(_SET_ASIDE)

    def add(self, counts: Mapping[CountKey, int]) -> None:
        if not counts:
            return
        pipe = self._redis.pipeline(transaction=True)
        stamps = set()
        for key, n in counts.items():
            stamp = hour_stamp(key.hour)
            stamps.add(stamp)
            pipe.hincrby(LIVE_KEY.format(stamp), field_of(key), n)
        pipe.sadd(HOURS_KEY, *stamps)
        pipe.execute()

    def unflushed(self, *, store_id: int, hours: Sequence[datetime]) -> dict[CountKey, int]:
        live = {_text(s) for s in self._redis.smembers(HOURS_KEY)}
        wanted = [h for h in hours if hour_stamp(h) in live]
        pipe = self._redis.pipeline(transaction=False)
        for hour in wanted:
            pipe.hgetall(LIVE_KEY.format(hour_stamp(hour)))
        prefix, counts = store_prefix(store_id), {}
        for hour, fields in zip(wanted, pipe.execute(), strict=True):
            for raw, n in fields.items():
                field = _text(raw)
                if field.startswith(prefix):
                    counts[key_of(hour, field)] = int(n)
        return counts

    def set_aside(self) -> list[Batch]:
        for raw in self._redis.smembers(HOURS_KEY):
            stamp = _text(raw)
            batch_id = _batch_id(stamp)
            keys = [LIVE_KEY.format(stamp), HOURS_KEY, BATCH_KEY.format(batch_id), BATCHES_KEY]
            self._set_aside(keys=keys, args=[stamp, batch_id])
        batches = []
        for raw in self._redis.smembers(BATCHES_KEY):
            batch_id = _text(raw)
            hour = _hour_of_batch(batch_id)
            fields = self._redis.hgetall(BATCH_KEY.format(batch_id))
            counts = {key_of(hour, _text(f)): int(n) for f, n in fields.items()}
            batches.append(Batch(batch_id, counts))
        return batches

    def forget(self, batch_id: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(BATCH_KEY.format(batch_id))
        pipe.srem(BATCHES_KEY, batch_id)
        pipe.execute()


class MemoryCounterStore:
    """The embedded default's store: this process's memory, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[CountKey, int] = {}
        self._batches: dict[str, dict[CountKey, int]] = {}

    def add(self, counts: Mapping[CountKey, int]) -> None:
        with self._lock:
            for key, n in counts.items():
                self._live[key] = self._live.get(key, 0) + n

    def unflushed(self, *, store_id: int, hours: Sequence[datetime]) -> dict[CountKey, int]:
        wanted = set(hours)
        with self._lock:
            return {
                k: n for k, n in self._live.items() if k.store_id == store_id and k.hour in wanted
            }

    def set_aside(self) -> list[Batch]:
        with self._lock:
            by_hour: dict[datetime, dict[CountKey, int]] = {}
            for key, n in self._live.items():
                by_hour.setdefault(key.hour, {})[key] = n
            self._live = {}
            for hour, counts in by_hour.items():
                self._batches[_batch_id(hour_stamp(hour))] = counts
            return [Batch(i, dict(c)) for i, c in self._batches.items()]

    def forget(self, batch_id: str) -> None:
        with self._lock:
            self._batches.pop(batch_id, None)


def make_store(client: redis.Redis | None) -> CounterStore:
    return MemoryCounterStore() if client is None else RedisCounterStore(client)


_current: CounterStore = MemoryCounterStore()


def current() -> CounterStore:
    """This process's counter store."""
    return _current


def install(store: CounterStore) -> None:
    """Make ``store`` the process's counter store (the runtime, at start)."""
    global _current
    _current = store

"""Where presence lives between requests: Redis in production, memory when embedded.

Presence is the only trace of where a user was; it expires after ``ttl_s`` by itself
(the privacy bound). A user's zones go stale sooner, after ``stale_s`` without an
observation, and are then exited (``presence.flow.expire_stale``); a sorted set of
when each user's presence goes stale lets the beat job find them without a scan.

One transaction on a user's presence is::

    held = store.acquire(user_id)      # lock + load: one Redis round trip
    ...                                # the pure step, the database work, the commit
    store.commit(held, new_presence)   # fenced save + unlock: one round trip
    store.release(held)                # unlock when nothing is saved (no-op after commit)

The lock is a lease of ``lease_s`` with a random token (a fencing token): a
transaction that outlives its lease cannot overwrite what the next holder wrote,
because ``commit`` writes only while the lock still holds its own token; ``commit``
returns ``False`` then and the presence stays as the newer holder left it. The lease is
sized generously (seconds, not the milliseconds a request takes) instead of extended by
a watchdog thread, so only a request stalled for that long is fenced out. A lock held by
another request for more than ``wait_s`` is :class:`~kernel.errors.Busy` (409 with
``Retry-After``), never a 500.

Erasure **seals** a user (``seal``, before the deletion commits): a tombstone that both
scripts check, so no process holds or saves presence for them again, whatever its own
caches still believe. This is what lets the hot paths remember tokens for minutes
(``accounts.tokens``): an erased user's next fix is refused in the same round trip that
would have locked their presence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import redis
import redis.asyncio as aioredis
from cachetools import TTLCache

from kernel.errors import Busy, Unauthorized
from presence.core import Presence, stale_since

log = logging.getLogger(__name__)

KEY = "vicinity:presence:{}"
LOCK_KEY = "vicinity:lock:presence:{}"
STALE_KEY = "vicinity:presence-stale"  # sorted set: user id → when their presence goes stale
# An erased user: no presence for an hour, longer than any process remembers their token.
SEALED_KEY = "vicinity:presence-sealed:{}"

# KEYS: lock, presence, sealed. ARGV: token, lease ms. → {1, presence or ""}, {0, ""} busy,
# {-1, ""} sealed
_ACQUIRE = """
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1, ''} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, ''}
"""
# KEYS: lock, presence, stale set, sealed. ARGV: token, presence, ttl s, stale score or "",
# user.
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[3], ARGV[5])
else
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
end
redis.call('DEL', KEYS[1])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Held:
    """A user's presence as loaded under the lock, and the token that proves the lock."""

    user_id: int
    token: str
    presence: Presence


class PresenceStore(Protocol):
    @property
    def stale_s(self) -> float: ...
    def acquire(self, user_id: int) -> Held: ...
    def commit(self, held: Held, presence: Presence) -> bool: ...
    def release(self, held: Held) -> None:
        """Unlock without saving; call once, and only when ``commit`` was not called."""
        ...

    def load(self, user_id: int) -> Presence: ...
    def clear(self, user_id: int) -> None: ...
    def seal(self, user_id: int) -> None:
        """Refuse this user's presence from now on (erasure), for ``sealed_s``."""
        ...

    def stale_users(self, *, now: float, limit: int) -> list[int]:
        """Users whose presence holds a zone not observed for more than ``stale_s``."""
        ...

    def live(self, *, batch: int) -> Iterator[list[tuple[int, Presence]]]:
        """Every user whose presence holds a zone, with it, ``batch`` users at a time (a
        user may come twice while presence changes underneath); not locked, read only."""
        ...


class AsyncPresence(Protocol):
    """The lock, load and save from the event loop (Redis only: the embedded store's
    locks are threads', so its callers take the thread road)."""

    @property
    def stale_s(self) -> float: ...
    async def acquire_async(self, user_id: int) -> Held: ...
    async def commit_async(self, held: Held, presence: Presence) -> bool: ...
    async def release_async(self, held: Held) -> None: ...


def _dump(presence: Presence) -> str:
    return json.dumps(presence.to_json())


def _load(raw: bytes | str | None) -> Presence:
    return Presence() if not raw else Presence.from_json(json.loads(raw))


def _busy(user_id: int) -> Busy:
    return Busy(f"another request is updating user {user_id}'s presence; retry in a second")


def _sealed() -> Unauthorized:
    # Worded as an unknown token: the same answer the database gives once the row is gone.
    return Unauthorized("unknown or revoked user token")


class RedisPresenceStore:
    def __init__(
        self,
        client: redis.Redis,
        ttl_s: int,
        *,
        stale_s: float = 25 * 60,
        lease_s: float = 30.0,
        wait_s: float = 2.0,
        sealed_s: int = 3600,
        aclient: aioredis.Redis | None = None,
    ) -> None:
        self._redis = client
        self._sealed_s = sealed_s
        self._ttl_s = ttl_s
        self._stale_s = stale_s
        self._lease_ms = int(lease_s * 1000)
        self._wait_s = wait_s
        self._acquire = client.register_script(_ACQUIRE)
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)
        # The same scripts from the event loop (the hot paths), when the app gave a client.
        if aclient is not None:
            self._aacquire = aclient.register_script(_ACQUIRE)
            self._acommit = aclient.register_script(_COMMIT)
            self._arelease = aclient.register_script(_RELEASE)

    @property
    def stale_s(self) -> float:
        return self._stale_s

    def _acquire_call(self, user_id: int) -> tuple[list[str], list[Any]]:
        keys = [LOCK_KEY.format(user_id), KEY.format(user_id), SEALED_KEY.format(user_id)]
        return keys, [secrets.token_hex(8), self._lease_ms]

    def _acquired(self, user_id: int, token: str, answer: Any) -> Held | None:
        got, raw = answer
        if got == 1:
            return Held(user_id, token, _load(raw))
        if got == -1:
            raise _sealed()
        return None

    def _commit_call(self, held: Held, presence: Presence) -> tuple[list[str], list[Any]]:
        since = stale_since(presence)
        uid = held.user_id
        keys = [LOCK_KEY.format(uid), KEY.format(uid), STALE_KEY, SEALED_KEY.format(uid)]
        score = "" if since is None else repr(since + self._stale_s)
        return keys, [held.token, _dump(presence), self._ttl_s, score, uid]

    def _committed(self, held: Held, answer: Any) -> bool:
        if answer:
            return True
        log.warning("presence of user %s not saved: lease ran out or user erased", held.user_id)
        return False

    def acquire(self, user_id: int) -> Held:
        keys, args = self._acquire_call(user_id)
        deadline = time.monotonic() + self._wait_s
        pause = 0.002
        while True:
            held = self._acquired(user_id, args[0], self._acquire(keys=keys, args=args))
            if held is not None:
                return held
            if time.monotonic() + pause > deadline:
                raise _busy(user_id)
            time.sleep(pause)  # another request of this user holds it for milliseconds
            pause = min(pause * 2, 0.05)

    def commit(self, held: Held, presence: Presence) -> bool:
        keys, args = self._commit_call(held, presence)
        return self._committed(held, self._commit(keys=keys, args=args))

    def release(self, held: Held) -> None:
        try:
            self._release(keys=[LOCK_KEY.format(held.user_id)], args=[held.token])
        except redis.RedisError:
            # The transaction is over; the lease expires by itself.
            log.warning("presence lock of user %s not released", held.user_id, exc_info=True)

    async def acquire_async(self, user_id: int) -> Held:
        keys, args = self._acquire_call(user_id)
        deadline = time.monotonic() + self._wait_s
        pause = 0.002
        while True:
            held = self._acquired(user_id, args[0], await self._aacquire(keys=keys, args=args))
            if held is not None:
                return held
            if time.monotonic() + pause > deadline:
                raise _busy(user_id)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def commit_async(self, held: Held, presence: Presence) -> bool:
        keys, args = self._commit_call(held, presence)
        return self._committed(held, await self._acommit(keys=keys, args=args))

    async def release_async(self, held: Held) -> None:
        try:
            await self._arelease(keys=[LOCK_KEY.format(held.user_id)], args=[held.token])
        except redis.RedisError:
            log.warning("presence lock of user %s not released", held.user_id, exc_info=True)

    def load(self, user_id: int) -> Presence:
        return _load(self._redis.get(KEY.format(user_id)))

    def clear(self, user_id: int) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(KEY.format(user_id))
        pipe.zrem(STALE_KEY, user_id)
        pipe.execute()

    def seal(self, user_id: int) -> None:
        self._redis.set(SEALED_KEY.format(user_id), 1, ex=self._sealed_s)

    def stale_users(self, *, now: float, limit: int) -> list[int]:
        ids = self._redis.zrangebyscore(STALE_KEY, "-inf", now, start=0, num=limit)
        return [int(i) for i in cast("list[bytes]", ids)]

    def live(self, *, batch: int) -> Iterator[list[tuple[int, Presence]]]:
        # The stale index holds exactly the users in a zone. ZSCAN rather than ZRANGE by
        # rank: the expire job removes members meanwhile, which would shift ranks and skip
        # users; ZSCAN returns every member present throughout (some possibly twice).
        cursor = 0
        while True:
            cursor, found = self._redis.zscan(STALE_KEY, cursor, count=batch)
            ids = [int(member) for member, _ in cast("list[tuple[bytes, float]]", found)]
            for start in range(0, len(ids), batch):
                part = ids[start : start + batch]
                raws = self._redis.mget([KEY.format(uid) for uid in part])
                # A presence past its TTL is gone even if the index still names the user.
                yield [(uid, _load(raw)) for uid, raw in zip(part, raws, strict=True) if raw]
            if cursor == 0:
                return


class MemoryPresenceStore:
    """The embedded default: one process, so a bounded TTL cache and thread locks.

    Entries leave the cache at their TTL (or, past ``maxsize``, least recently used
    first) whether read or not; locks are striped so their number is bounded too.
    """

    STRIPES = 64

    def __init__(
        self,
        ttl_s: int,
        *,
        stale_s: float = 25 * 60,
        wait_s: float = 2.0,
        maxsize: int = 100_000,
        sealed_s: int = 3600,
        timer: Any = time.monotonic,
    ) -> None:
        self._stale_s = stale_s
        self._wait_s = wait_s
        self._data: TTLCache[int, Presence] = TTLCache(maxsize, ttl_s, timer=timer)
        self._sealed: TTLCache[int, bool] = TTLCache(maxsize, sealed_s, timer=timer)
        self._guard = threading.Lock()
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    @property
    def stale_s(self) -> float:
        return self._stale_s

    def __len__(self) -> int:
        with self._guard:
            self._data.expire()
            return len(self._data)

    def acquire(self, user_id: int) -> Held:
        if not self._locks[user_id % self.STRIPES].acquire(timeout=self._wait_s):
            raise _busy(user_id)
        with self._guard:
            sealed = user_id in self._sealed
        if sealed:
            self.release(Held(user_id, "", Presence()))
            raise _sealed()
        return Held(user_id, "", self.load(user_id))

    def commit(self, held: Held, presence: Presence) -> bool:
        with self._guard:
            saved = held.user_id not in self._sealed
            if saved:
                self._data[held.user_id] = presence
        self.release(held)
        return saved

    def release(self, held: Held) -> None:
        self._locks[held.user_id % self.STRIPES].release()

    def load(self, user_id: int) -> Presence:
        with self._guard:
            return self._data.get(user_id) or Presence()

    def clear(self, user_id: int) -> None:
        with self._guard:
            self._data.pop(user_id, None)

    def seal(self, user_id: int) -> None:
        with self._guard:
            self._sealed[user_id] = True

    def stale_users(self, *, now: float, limit: int) -> list[int]:
        with self._guard:
            self._data.expire()
            found = [
                uid
                for uid, p in self._data.items()
                if (since := stale_since(p)) is not None and since + self._stale_s <= now
            ]
        return found[:limit]

    def live(self, *, batch: int) -> Iterator[list[tuple[int, Presence]]]:
        with self._guard:
            self._data.expire()
            found = [(uid, p) for uid, p in self._data.items() if p.zones]
        for start in range(0, len(found), batch):
            yield found[start : start + batch]

"""Where presence lives between requests: Redis in production, memory when embedded.

Presence is the only trace of where a user was; it expires after ``ttl_s`` by itself.
A per-user lock serialises concurrent batches of one user so no update is lost.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import redis

from presence.core import Presence

KEY = "vicinity:presence:{}"


class PresenceStore(Protocol):
    def locked(self, user_id: int) -> AbstractContextManager[None]: ...
    def load(self, user_id: int) -> Presence: ...
    def save(self, user_id: int, presence: Presence) -> None: ...
    def clear(self, user_id: int) -> None: ...


class RedisPresenceStore:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._redis = client
        self._ttl_s = ttl_s

    @contextmanager
    def locked(self, user_id: int) -> Iterator[None]:
        # Not thread-local: a request may take the lock in one worker thread and release
        # it, after commit, in another.
        lock = self._redis.lock(
            f"vicinity:lock:presence:{user_id}",
            timeout=10,
            blocking_timeout=10,
            thread_local=False,
        )
        with lock:
            yield

    def load(self, user_id: int) -> Presence:
        raw = self._redis.get(KEY.format(user_id))
        return Presence() if raw is None else Presence.from_json(json.loads(raw))

    def save(self, user_id: int, presence: Presence) -> None:
        self._redis.set(KEY.format(user_id), json.dumps(presence.to_json()), ex=self._ttl_s)

    def clear(self, user_id: int) -> None:
        self._redis.delete(KEY.format(user_id))


class MemoryPresenceStore:
    """The embedded default: one process, so a dict and thread locks are enough."""

    def __init__(self, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._data: dict[int, tuple[float, Presence]] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def locked(self, user_id: int) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(user_id, threading.Lock())
        with lock:
            yield

    def load(self, user_id: int) -> Presence:
        entry = self._data.get(user_id)
        if entry is None or entry[0] < time.monotonic():
            return Presence()
        return entry[1]

    def save(self, user_id: int, presence: Presence) -> None:
        self._data[user_id] = (time.monotonic() + self._ttl_s, presence)

    def clear(self, user_id: int) -> None:
        self._data.pop(user_id, None)

"""Tells the other processes that something they hold in memory changed.

A Redis pub/sub channel per kind of change (geofences, EID registrations). Each process
listens in a daemon thread and ignores its own messages, since it applied the change
before publishing. Embedded mode has one process and no channel: publishing is a no-op.

Pub/sub is at most once, so messages are only the fast path. The same thread calls
``resync`` (compare the version counter, reload when behind; see ``kernel.versions``)

* on every subscription, the first and each after a reconnection (redis-py resubscribes
  by itself after some errors; the subscribe confirmation tells us it did);
* every ``check_s`` seconds, Redis up or down, as the database is what it reads.

When Redis is unreachable the listener retries with exponential backoff (capped), not in
a tight loop, and logs once per outage rather than once per attempt.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
Resync = Callable[[], object]  # its result (reloaded or not) is not used


class Broadcast:
    def __init__(
        self,
        client: redis.Redis | None,
        channel: str,
        handler: Handler,
        *,
        resync: Resync | None = None,
        check_s: float = 30.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self._redis = client
        self._channel = channel
        self._handler = handler
        self._resync = resync
        self._check_s = check_s
        self._backoff_min, self._backoff_max = backoff_s
        self._origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_check = time.monotonic() + check_s
        self.attempts = 0  # subscription attempts, for tests and health

    def publish(self, payload: dict[str, Any]) -> None:
        if self._redis is None:
            return
        try:
            self._redis.publish(self._channel, json.dumps({**payload, "origin": self._origin}))
        except redis.RedisError:
            # The change is committed and its version bumped: the others catch up on
            # their next check.
            log.warning("%s: publish failed; other processes catch up by version", self._channel)

    def start(self) -> None:
        """Subscribe (when Redis answers) and resync now, then listen in the background."""
        if self._redis is None or self._thread is not None:
            return
        pubsub = self._subscribe()
        if pubsub is None or not self._confirmed(pubsub):
            self._call_resync()
        self._thread = threading.Thread(target=self._run, args=(pubsub,), daemon=True)
        self._thread.start()

    def _subscribe(self) -> redis.client.PubSub | None:
        assert self._redis is not None
        self.attempts += 1
        pubsub: redis.client.PubSub = self._redis.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self._channel)
        except redis.RedisError:
            pubsub.close()
            return None
        return pubsub

    def _confirmed(self, pubsub: redis.client.PubSub) -> bool:
        """Wait briefly for the subscribe confirmation, resyncing when it comes."""
        try:
            message = pubsub.get_message(timeout=1.0)
        except redis.RedisError:
            return False
        if message is not None:
            self._on_message(message)
        return message is not None and message["type"] == "subscribe"

    def _run(self, pubsub: redis.client.PubSub | None) -> None:
        delay = self._backoff_min
        if pubsub is None:
            log.warning("%s: Redis unreachable; retrying with backoff", self._channel)
        while not self._stop.is_set():
            if pubsub is None:
                # Every attempt follows a wait: the one before it failed or was dropped.
                self._due_check()
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, self._backoff_max)
                pubsub = self._subscribe()
                if pubsub is None:
                    continue
                delay = self._backoff_min
                log.info("%s: subscribed again", self._channel)
            try:
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    self._on_message(message)
            except redis.RedisError:
                log.warning("%s: connection lost; retrying with backoff", self._channel)
                pubsub.close()
                pubsub = None
            except Exception:  # one bad message must not stop the listener
                log.exception("%s: message skipped", self._channel)
            self._due_check()
        if pubsub is not None:
            pubsub.close()

    def _on_message(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            self._call_resync()
            return
        if message["type"] != "message":
            return
        data = json.loads(message["data"])
        if data.get("origin") != self._origin:
            self._handler(data)

    def _due_check(self) -> None:
        if time.monotonic() >= self._next_check:
            self._call_resync()

    def _call_resync(self) -> None:
        self._next_check = time.monotonic() + self._check_s
        if self._resync is None:
            return
        try:
            self._resync()
        except Exception:  # the database may be down too: try again at the next check
            log.exception("%s: resync failed", self._channel)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._wake()
            self._thread.join(timeout=2)

    def _wake(self) -> None:
        """End the listener's wait for a message now rather than at its timeout: a message
        of our own origin, which it ignores before seeing it should stop."""
        if self._redis is None:
            return
        with contextlib.suppress(redis.RedisError):  # else it stops at its timeout
            self._redis.publish(self._channel, json.dumps({"origin": self._origin}))

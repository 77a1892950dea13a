"""Tells the other processes that something they hold in memory changed.

A Redis pub/sub channel per kind of change (geofences, EID registrations). Each process
listens in a daemon thread and ignores its own messages, since it applied the change
before publishing. Embedded mode has one process and no channel: publishing is a no-op.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


class Broadcast:
    def __init__(self, client: redis.Redis | None, channel: str, handler: Handler) -> None:
        self._redis = client
        self._channel = channel
        self._handler = handler
        self._origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, payload: dict[str, Any]) -> None:
        if self._redis is not None:
            self._redis.publish(self._channel, json.dumps({**payload, "origin": self._origin}))

    def start(self) -> None:
        if self._redis is None or self._thread is not None:
            return
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(self._channel)
        self._thread = threading.Thread(target=self._listen, args=(pubsub,), daemon=True)
        self._thread.start()

    def _listen(self, pubsub: redis.client.PubSub) -> None:
        while not self._stop.is_set():
            try:
                message = pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                data = json.loads(message["data"])
                if data.get("origin") != self._origin:
                    self._handler(data)
            except Exception:  # one bad message or a blip must not stop the listener
                log.exception("%s: message skipped", self._channel)
        pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

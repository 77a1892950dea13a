"""Keeps every process's geofence index current after a geofence changes.

The process that commits the change applies it at once, then publishes the id on a
Redis channel; every other API process reloads that one geofence from the database.
Embedded mode has one process and no channel.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid

import redis
from sqlalchemy.orm import Session, sessionmaker

from geofence.core import GeofenceIndex
from geofence.service import fence_by_id

log = logging.getLogger(__name__)
CHANNEL = "vicinity:geofences"


class IndexSync:
    def __init__(
        self, index: GeofenceIndex, sessions: sessionmaker[Session], client: redis.Redis | None
    ) -> None:
        self._index = index
        self._sessions = sessions
        self._redis = client
        self._origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, fence_id: int) -> None:
        with self._sessions() as session:
            fence = fence_by_id(session, fence_id)
        if fence is None:
            self._index.remove(fence_id)
        else:
            self._index.upsert(fence)

    def changed(self, fence_id: int) -> None:
        """Called after commit by the process that made the change."""
        self.refresh(fence_id)
        if self._redis is not None:
            self._redis.publish(CHANNEL, json.dumps({"id": fence_id, "origin": self._origin}))

    def start(self) -> None:
        if self._redis is None:
            return
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(CHANNEL)
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
                    self.refresh(int(data["id"]))
            except Exception:  # one bad message or a blip must not stop the sync
                log.exception("geofence index sync: message skipped")
        pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

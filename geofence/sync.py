"""Keeps every process's geofence index current after a geofence changes.

The process that commits the change applies it at once, then broadcasts the id; every
other API process reloads that one geofence from the database.
"""

from __future__ import annotations

import redis
from sqlalchemy.orm import Session, sessionmaker

from geofence.core import GeofenceIndex
from geofence.service import fence_by_id
from kernel.broadcast import Broadcast

CHANNEL = "vicinity:geofences"


class IndexSync:
    def __init__(
        self, index: GeofenceIndex, sessions: sessionmaker[Session], client: redis.Redis | None
    ) -> None:
        self._index = index
        self._sessions = sessions
        self._broadcast = Broadcast(client, CHANNEL, lambda data: self.refresh(int(data["id"])))

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
        self._broadcast.publish({"id": fence_id})

    def start(self) -> None:
        self._broadcast.start()

    def stop(self) -> None:
        self._broadcast.stop()

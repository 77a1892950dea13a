"""Keeps every process's geofence index current after a geofence changes.

The process that commits the change applies it at once, then broadcasts the id and the
fence-set version its transaction bumped (``kernel.versions``). Another process that is
exactly one version behind reloads that one geofence; any other gap (a lost message, a
store deleted with its fences, a change made while it was starting) is a full reload.
The version is also compared at start, on every (re)subscription and every
``check_s`` seconds, so a process converges even when no message reaches it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from geofence.core import Fence, GeofenceIndex
from geofence.models import Geofence
from geofence.service import fence_by_id
from kernel import versions
from kernel.broadcast import Broadcast

CHANNEL = "vicinity:geofences"
LOAD_CHUNK = 2_000  # rows per fetch of a full reload


def all_fences(session: Session) -> Iterator[Fence]:
    """Every geofence, read as plain columns in chunks.

    A full load through ORM instances (each with its state and identity-map entry, all
    alive until the session closed) left a worker about 1 KiB a fence larger for good at
    100,000 fences: the freed objects' memory stays fragmented in its heap.
    """
    columns = select(
        Geofence.id, Geofence.store_id, Geofence.geometry, Geofence.radius_m, Geofence.dwell_s
    ).execution_options(yield_per=LOAD_CHUNK)
    for row in session.execute(columns):
        yield Fence(row.id, row.store_id, row.geometry, row.radius_m, row.dwell_s)


class IndexSync:
    def __init__(
        self,
        index: GeofenceIndex,
        sessions: sessionmaker[Session],
        client: redis.Redis | None,
        *,
        check_s: float = 30.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self._index = index
        self._sessions = sessions
        self._lock = threading.Lock()  # the listener and request threads apply changes
        self._version: int | None = None  # the fence-set version the index reflects
        self._broadcast = Broadcast(
            client,
            CHANNEL,
            self._on_message,
            resync=self.reconcile,
            check_s=check_s,
            backoff_s=backoff_s,
        )

    @property
    def version(self) -> int | None:
        return self._version

    def reload(self) -> None:
        """Every geofence from the database, and the version they reflect."""
        with self._lock, self._sessions() as session:
            # The version first: fences read after it are at least that new.
            version = versions.read(session.connection(), versions.GEOFENCES)
            self._index.replace_all(all_fences(session))
            self._version = version

    def reconcile(self) -> bool:
        """Reload when the database's version differs from the index's; True if it did."""
        with self._sessions() as session:
            current = versions.read(session.connection(), versions.GEOFENCES)
        if current == self._version:
            return False
        self.reload()
        return True

    def _apply(self, fence_id: int, version: int | None) -> None:
        with self._lock:
            if version is not None and self._version is not None and version == self._version + 1:
                with self._sessions() as session:
                    fence = fence_by_id(session, fence_id)
                if fence is None:
                    self._index.remove(fence_id)
                else:
                    self._index.upsert(fence)
                self._version = version
                return
        self.reconcile()

    def changed(self, fence_id: int, version: int | None) -> None:
        """Called after commit by the process that changed one geofence."""
        self._apply(fence_id, version)
        self._broadcast.publish({"id": fence_id, "version": version})

    def resync(self) -> None:
        """Called after commit by a process that changed fences wholesale (a store deleted)."""
        self.reconcile()
        self._broadcast.publish({"version": self._version})

    def _on_message(self, data: dict[str, Any]) -> None:
        version = data.get("version")
        if "id" in data:
            self._apply(int(data["id"]), None if version is None else int(version))
        else:
            self.reconcile()

    def start(self) -> None:
        self._broadcast.start()

    def stop(self) -> None:
        self._broadcast.stop()

"""This process's Eddystone-EID table, kept current as beacons rotate and registrations change.

The table (``beacons.eid.EidResolver``) holds each EID beacon's ids for the current
rotation period +- ``skew_periods``. It is rebuilt

* at start, from the database;
* after a registration change, by the process that committed it, which also publishes
  on a Redis channel so every other process reloads (as ``geofence.sync`` does);
* by the ``beacons.refresh_eids`` beat job, which reloads in the worker and publishes;
* lazily, when a lookup finds the table older than one period of the fastest-rotating
  beacon: that keeps resolution working in the embedded mode, which has no beat;
* whenever the ``eids`` version counter (``kernel.versions``, bumped in the transaction
  of every change to an EID registration) differs from the one the table was loaded at:
  checked at start, on every (re)subscription and every ``check_s`` seconds, so a lost
  message is caught up.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from beacons import repository
from beacons.eid import EidRegistration, EidResolver
from beacons.models import Beacon
from kernel import versions
from kernel.broadcast import Broadcast

CHANNEL = "vicinity:eids"

# What EidResolver is built from (repository.eid_registrations): a change to these on a
# beacon with an EID key bumps the version; telemetry and visits do not.
versions.watch(
    Beacon,
    versions.EIDS,
    counts=lambda b: b.eid_identity_key is not None,
    columns=("identity", "eid_identity_key", "eid_rotation_exponent", "eid_epoch_s", "status"),
)


class EidDirectory:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: redis.Redis | None,
        skew_periods: int,
        *,
        check_s: float = 30.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self._sessions = sessions
        self._skew_periods = skew_periods
        self._resolver = EidResolver.build((), 0.0, skew_periods)
        self._period_s = math.inf
        self._lock = threading.Lock()
        self.version: int | None = None  # the ``eids`` version the table reflects
        self._broadcast = Broadcast(
            client,
            CHANNEL,
            self._on_broadcast,
            resync=self.reconcile,
            check_s=check_s,
            backoff_s=backoff_s,
        )

    def __len__(self) -> int:
        return len(self._resolver.registrations)

    def install(self, registrations: list[EidRegistration], now_s: float) -> None:
        resolver = EidResolver.build(registrations, now_s, self._skew_periods)
        period = min((2**r.rotation_exponent for r in registrations), default=math.inf)
        with self._lock:
            self._resolver, self._period_s = resolver, period

    def reload(self, now_s: float) -> int:
        """Read every EID registration from the database; returns how many."""
        with self._sessions() as session:
            version = versions.read(session.connection(), versions.EIDS)  # first: see sync.py
            registrations = repository.eid_registrations(session)
        self.install(registrations, now_s)
        self.version = version
        return len(registrations)

    def reconcile(self) -> bool:
        """Reload when the database's ``eids`` version differs from the table's."""
        with self._sessions() as session:
            current = versions.read(session.connection(), versions.EIDS)
        if current == self.version:
            return False
        self.reload(time.time())
        return True

    def resolve(self, eid: bytes, now_s: float) -> str | None:
        """The identity of the registered beacon broadcasting ``eid`` around ``now_s``."""
        resolver = self._resolver
        if abs(now_s - resolver.built_at_s) >= self._period_s:
            with self._lock:
                if abs(now_s - self._resolver.built_at_s) >= self._period_s:
                    self._resolver = self._resolver.refreshed(now_s)
                resolver = self._resolver
        return resolver.resolve(eid)

    def changed(self, now_s: float) -> None:
        """Called after a commit that touched EID registrations, and by the beat job."""
        self.reload(now_s)
        self._broadcast.publish({})

    def _on_broadcast(self, _data: dict[str, Any]) -> None:
        self.reload(time.time())

    def start(self, now_s: float) -> None:
        self.reload(now_s)
        self._broadcast.start()  # subscribes, then reconciles what changed meanwhile

    def stop(self) -> None:
        self._broadcast.stop()

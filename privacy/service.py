"""Data rights and retention: export everything held about a user, erase it, purge what
has aged out. Driven by the registry, so a new domain only has to register."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import redis
from sqlalchemy.orm import Session

import privacy.domains  # noqa: F401 - loads every domain's registrations
from beacons.privacy import export_tracks
from beacons.store import SightingStore
from kernel import personal_data as registry
from kernel.config import Settings
from kernel.db import Base, after_commit
from presence.privacy import export_presence
from presence.store import PresenceStore


def registered_tables() -> list[registry.PersonalTable]:
    """Registered tables, parents before children (the metadata's dependency order).

    Every registered table's model is imported by the time it registers, so the shared
    metadata knows it.
    """
    known = registry.tables()
    return [known[t.name] for t in Base.metadata.sorted_tables if t.name in known]


def export_user(
    session: Session,
    *,
    user_id: int,
    presence: PresenceStore,
    sightings: SightingStore,
    now: datetime,
) -> dict[str, Any]:
    """Every registered table's rows about the user, their live presence and the beacon
    signals kept for them (ISO 8601 UTC times)."""
    tables = {
        entry.table: entry.export(session, user_id)
        for entry in registered_tables()
        if entry.export is not None
    }
    return {
        "user_id": user_id,
        "exported_at": now,
        "tables": tables,
        "presence": export_presence(presence.load(user_id)),
        "beacon_tracks": export_tracks(sightings.load_tracks(user_id)),
    }


class UserStateStore(Protocol):
    """Short-lived per-user state kept outside the database (presence, beacon tracks)."""

    def clear(self, user_id: int) -> None: ...


def clear_ephemeral(
    user_id: int, *, stores: Sequence[UserStateStore], client: redis.Redis | None
) -> int:
    """Clear the user from every state store, then delete every registered Redis key.

    The stores cover the embedded (in-memory) mode; the key patterns catch what a store
    does not own, such as a lock left behind by a crashed worker.
    """
    for store in stores:
        store.clear(user_id)
    if client is None:
        return 0
    removed = 0
    for keys in registry.redis_keys():
        for pattern in keys.patterns:
            key = pattern.format(user_id=user_id)
            found = list(client.scan_iter(match=key, count=500)) if "*" in key else [key]
            if found:
                removed += int(client.delete(*found))
    return removed


def erase_user(
    session: Session,
    *,
    user_id: int,
    presence: PresenceStore,
    stores: Sequence[UserStateStore],
    client: redis.Redis | None,
) -> dict[str, int]:
    """Delete every registered row about the user, children first, the user row last.

    Presence is sealed first, before anything commits (``presence.store``): every process
    refuses the user's next fix at once, however long it remembers their token; if the
    seal cannot be written, the erasure fails whole. Redis is cleared once the deletion
    commits, so a rollback leaves everything else in place.
    """
    presence.seal(user_id)
    counts = {
        entry.table: entry.erase(session, user_id)
        for entry in reversed(registered_tables())
        if entry.erase is not None
    }

    def clear() -> None:
        clear_ephemeral(user_id, stores=stores, client=client)

    after_commit(session, clear)
    return counts


def purge(session: Session, *, now: datetime, settings: Settings) -> dict[str, int]:
    """Delete what is past its retention period, table by table."""
    return {
        entry.table: entry.purge(session, now, settings)
        for entry in registered_tables()
        if entry.purge is not None
    }

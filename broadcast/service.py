"""Broadcasts: create the flash offer, list its audience from presence, decide by chunk.

The decision for each user is the notifications' own (``on_presence`` with a broadcast
trigger): consent for the zone's purpose, the consented segments only, mutes, quiet
hours, the daily cap and the store cooldown apply exactly as on a visit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from broadcast import core
from broadcast.core import Member
from broadcast.models import Broadcast, BroadcastChunk, BroadcastStatus
from broadcast.schemas import BroadcastCreate
from geofence.core import GeofenceIndex
from geofence.models import Geofence
from geofence.service import to_fence
from kernel.db import after_commit
from kernel.errors import Conflict, NotFound
from kernel.pagination import keyset
from kernel.principal import Staff
from notifications.decide import Trigger
from notifications.models import HELD_OUT, SUPPRESSED, Notification
from notifications.service import PURPOSES, Enqueue, on_presence
from offers.models import Offer
from preferences.segments import segments_by_slug
from presence.core import Transition, kind_of
from presence.store import PresenceStore
from stores.service import get_store

FLASH_TRIGGER = "broadcast"


def _centre(session: Session, store_id: int) -> tuple[float, float]:
    rows = session.scalars(select(Geofence).where(Geofence.store_id == store_id))
    found = core.centre([to_fence(row).envelope() for row in rows])
    if found is None:
        raise Conflict(
            f"store {store_id} has no geofence, so no place to broadcast around: "
            f"draw one first (POST /v1/stores/{store_id}/geofences)"
        )
    return found


def create_broadcast(
    session: Session,
    *,
    staff: Staff,
    store_id: int,
    data: BroadcastCreate,
    now: datetime,
    enqueue: Callable[[int], None],
) -> Broadcast:
    """The flash offer and its broadcast, queued; its fan-out is enqueued after commit."""
    get_store(session, staff=staff, store_id=store_id)
    segments = segments_by_slug(session, data.segments)
    lon, lat = _centre(session, store_id)
    offer = Offer(
        store_id=store_id,
        title=data.title,
        body=data.body,
        deep_link=data.deep_link,
        trigger=FLASH_TRIGGER,
        ends_at=now + timedelta(seconds=data.valid_for_s),
        active=True,
        place_bound=True,
        segments=segments,
    )
    session.add(offer)
    session.flush()
    row = Broadcast(
        store_id=store_id,
        offer_id=offer.id,
        radius_m=data.radius_m,
        centre_lon=lon,
        centre_lat=lat,
        status=BroadcastStatus.QUEUED.value,
        created_at=now,
    )
    session.add(row)
    session.flush()
    after_commit(session, partial(enqueue, row.id))
    return row


def get_broadcast(session: Session, *, staff: Staff, store_id: int, broadcast_id: int) -> Broadcast:
    get_store(session, staff=staff, store_id=store_id)
    row = session.get(Broadcast, broadcast_id)
    if row is None or row.store_id != store_id:
        raise NotFound(f"no broadcast {broadcast_id}")
    return row


def list_broadcasts(
    session: Session, *, staff: Staff, store_id: int, after: int, limit: int
) -> list[Broadcast]:
    """Newest first: ids below the cursor ``after`` (0: from the newest)."""
    get_store(session, staff=staff, store_id=store_id)
    query = select(Broadcast).where(Broadcast.store_id == store_id)
    page = keyset(query, Broadcast.id, after=after, limit=limit, newest_first=True)
    return list(session.scalars(page))


def start(
    session: Session,
    *,
    broadcast_id: int,
    index: GeofenceIndex,
    presence: PresenceStore,
    now: float,
    chunk_size: int,
) -> list[list[Member]]:
    """The fan-out: the audience from presence, in chunks; the broadcast is ``running``
    (``done`` at once when nobody is there). A broadcast already started yields nothing,
    so a redelivered fan-out does not send its chunks twice."""
    row = session.get(Broadcast, broadcast_id, with_for_update=True)
    if row is None or row.status != BroadcastStatus.QUEUED.value:
        return []
    near = index.near(row.centre_lon, row.centre_lat, float(row.radius_m))
    distance = core.distance_to(row.store_id, {fence.zone: d for fence, d in near})
    members = core.audience(
        presence.live(batch=chunk_size), distance=distance, now=now, stale_s=presence.stale_s
    )
    parts = core.chunks(members, chunk_size)
    row.targeted, row.chunks_total = len(members), len(parts)
    row.status = (BroadcastStatus.RUNNING if parts else BroadcastStatus.DONE).value
    if not parts:
        row.finished_at = _utc(now)
    session.flush()
    return parts


def _claim(session: Session, broadcast_id: int, number: int, users: int) -> bool:
    """Insert the chunk's row, first in its transaction: ``False`` when it exists (the
    chunk already ran; a concurrent run waits on the row and then finds it)."""
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    statement = (
        insert(BroadcastChunk)
        .values(broadcast_id=broadcast_id, number=number, users=users)
        .on_conflict_do_nothing()
        .returning(BroadcastChunk.number)
    )
    return session.scalar(statement) is not None


def _outcomes(session: Session, offer_id: int, user_ids: list[int]) -> tuple[int, int]:
    """Pushes and held-back decisions of the flash offer for these users: read back from
    the notifications (one per user and offer and day, unique), so exact on a re-run."""
    rows = session.execute(
        select(Notification.status, func.count())
        .where(Notification.offer_id == offer_id, Notification.user_id.in_(user_ids))
        .group_by(Notification.status)
    ).all()
    by_status = {status: int(n) for status, n in rows}
    held = by_status.pop(SUPPRESSED, 0)
    # A control-group record is not a push (a flash offer has no holdout anyway).
    by_status.pop(HELD_OUT, None)
    return sum(by_status.values()), held


def decide_chunk(
    session: Session,
    *,
    broadcast_id: int,
    number: int,
    members: Sequence[Member],
    policy_version: str,
    enqueue: Enqueue,
    now: float,
) -> bool:
    """Decide for each user of a chunk and add its counts to the broadcast; the last chunk
    marks it ``done``. ``False`` (nothing done) when the chunk already ran."""
    row = session.get(Broadcast, broadcast_id)
    if row is None or not _claim(session, broadcast_id, number, len(members)):
        return False
    if row.offer_id is not None:
        for member in members:
            trigger = Trigger(member.zone, row.store_id, Transition.ENTER, now, broadcast=True)
            on_presence(
                session,
                user_id=member.user_id,
                triggers=[trigger],
                purpose=PURPOSES[kind_of(member.zone)],
                policy_version=policy_version,
                enqueue=enqueue,
            )
        sent, held = _outcomes(session, row.offer_id, [m.user_id for m in members])
    else:
        sent = held = 0  # the store deleted the flash offer: nothing left to send
    skipped = len(members) - sent - held
    session.execute(
        update(BroadcastChunk)
        .where(BroadcastChunk.broadcast_id == broadcast_id, BroadcastChunk.number == number)
        .values(sent=sent, suppressed=held, skipped=skipped)
    )
    # Last in the transaction: the broadcast's row lock is held only for this.
    done, total = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(
            sent=Broadcast.sent + sent,
            suppressed=Broadcast.suppressed + held,
            skipped=Broadcast.skipped + skipped,
            chunks_done=Broadcast.chunks_done + 1,
        )
        .returning(Broadcast.chunks_done, Broadcast.chunks_total)
    ).one()
    if done >= total:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.RUNNING.value)
            .values(status=BroadcastStatus.DONE.value, finished_at=_utc(now))
        )
    session.expire(row)
    return True


def fail(session: Session, *, broadcast_id: int, now: float) -> None:
    """Mark a broadcast ``failed`` (an error a retry cannot fix); its counts stay."""
    session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status.in_([BroadcastStatus.QUEUED.value, BroadcastStatus.RUNNING.value]),
        )
        .values(status=BroadcastStatus.FAILED.value, finished_at=_utc(now))
    )


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)

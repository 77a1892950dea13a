"""The one presence flow, for geofence fixes, beacon sightings and (later) NFC taps.

:func:`advance_presence` owns the order every source must keep:

1. lock the user's presence and load it (one Redis round trip; 409 + ``Retry-After``
   when another request holds it beyond a short bound);
2. EXIT (``timeout``) the zones of sources silent for longer than the store's
   ``stale_s``: a phone that went quiet left, even if it never said so;
3. the source's pure step: what it observed → the new presence and its events;
4. after commit, save the presence and unlock (one round trip, fenced by the lock's
   token); a failed transaction leaves presence as it was, so the phone's retry counts;
5. the decision on the events, in this transaction: a :class:`DecideEvents` the caller
   hands in (``notifications.service.decide_events``), so presence, which every source
   and the decision build on, imports neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from kernel.db import after_commit, hold_until_closed
from kernel.metrics import count_transition
from presence.core import Presence, ZoneEvent, expire, kind_of
from presence.store import AsyncPresence, Held, PresenceStore

R = TypeVar("R")
StoreOf = Callable[[str], int | None]


class DecideEvents(Protocol):
    """The decision on a user's zone events: each event zone's store, and the ids of the
    notifications recorded."""

    def __call__(
        self, session: Session, *, user_id: int, events: Sequence[ZoneEvent], store_of: StoreOf
    ) -> tuple[dict[str, int], list[int]]: ...


@dataclass(frozen=True, slots=True)
class Stepped(Generic[R]):
    """What a source's step made of the presence: its own result, the presence after it,
    the events, whether to save (something was accepted), and other state to write
    after commit under the same lock (e.g. beacon RSSI tracks)."""

    result: R
    presence: Presence
    events: Sequence[ZoneEvent]
    save: bool
    after_commit: Sequence[Callable[[], None]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Advanced(Generic[R]):
    result: R
    events: list[ZoneEvent]  # timeouts first, then the step's, in order
    store_of: dict[str, int]
    notification_ids: list[int]


class _Lease:
    """The held lock until it is committed or released: exactly one of the two."""

    def __init__(self, store: PresenceStore, held: Held) -> None:
        self.store, self.held, self.open = store, held, True

    def commit(self, presence: Presence) -> None:
        self.store.commit(self.held, presence)
        self.open = False

    def release(self) -> None:
        if self.open:
            self.open = False
            self.store.release(self.held)

    @contextmanager
    def until_closed(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.release()


@dataclass(frozen=True, slots=True)
class Begun(Generic[R]):
    """A step taken on a locked presence, not yet saved: what :func:`finish` completes."""

    held: Held
    stepped: Stepped[R]
    events: list[ZoneEvent]  # timeouts first, then the step's, in order
    save: bool

    @property
    def quiet(self) -> bool:
        """Nothing for the database: no event to decide, no other state to write."""
        return not self.events and not self.stepped.after_commit


def begin(
    held: Held, step: Callable[[Presence], Stepped[R]], *, now: float, stale_s: float
) -> Begun[R]:
    """The pure middle of the flow: timeouts, then the source's step (no I/O)."""
    state, timeouts = expire(held.presence, now=now, stale_s=stale_s)
    stepped = step(state)
    return Begun(held, stepped, [*timeouts, *stepped.events], bool(timeouts) or stepped.save)


def finish(
    session: Session,
    begun: Begun[R],
    *,
    presence: PresenceStore,
    store_of: StoreOf,
    decide: DecideEvents,
) -> Advanced[R]:
    """Save after commit (under the lock, released when the transaction ends) → decision."""
    lease = _Lease(presence, begun.held)
    hold_until_closed(session, lease.until_closed())
    stepped, events = begun.stepped, begun.events
    for action in stepped.after_commit:
        after_commit(session, action)
    if begun.save:
        # Runs before the transaction's holds close, so still under the lock.
        after_commit(session, lambda: lease.commit(stepped.presence))
    if events:
        after_commit(session, lambda: _count(events))
    stores, notes = decide(session, user_id=begun.held.user_id, events=events, store_of=store_of)
    return Advanced(stepped.result, events, stores, notes)


def advance_presence(
    session: Session,
    *,
    user_id: int,
    presence: PresenceStore,
    step: Callable[[Presence], Stepped[R]],
    now: float,
    store_of: StoreOf,
    decide: DecideEvents,
) -> Advanced[R]:
    """Lock → load → timeouts → ``step`` → save after commit → decision."""
    held = presence.acquire(user_id)
    try:
        begun = begin(held, step, now=now, stale_s=presence.stale_s)
    except BaseException:
        presence.release(held)
        raise
    return finish(session, begun, presence=presence, store_of=store_of, decide=decide)


async def advance_quietly(
    presence: AsyncPresence,
    *,
    user_id: int,
    step: Callable[[Presence], Stepped[R]],
    now: float,
    finish: Callable[[Begun[R]], Awaitable[Advanced[R]]],
) -> Advanced[R]:
    """The same flow from the event loop, for the hot paths: lock and load, the pure
    step, and when nothing happened (most fixes) the save, each one awaited Redis round
    trip, with no thread and no database; otherwise ``finish`` (the database part, in a
    worker thread) takes the held lock over."""
    held = await presence.acquire_async(user_id)
    handed = False
    try:
        begun = begin(held, step, now=now, stale_s=presence.stale_s)
        if begun.quiet:
            if begun.save:
                await presence.commit_async(held, begun.stepped.presence)
            else:
                await presence.release_async(held)
            handed = True
            return Advanced(begun.stepped.result, [], {}, [])
        handed = True  # from here ``finish``'s transaction releases it, whatever happens
        return await finish(begun)
    finally:
        if not handed:
            await presence.release_async(held)


def _count(events: Sequence[ZoneEvent]) -> None:
    # Counted once committed: a rolled-back request's transitions did not happen.
    for event in events:
        if not event.checkpoint:  # a dwell checkpoint is not a transition
            count_transition(kind_of(event.zone), event.transition.value)


def expire_stale(
    session: Session,
    *,
    user_id: int,
    presence: PresenceStore,
    now: float,
    store_of: StoreOf,
    decide: DecideEvents,
) -> Advanced[None]:
    """The beat job's step for one user: nothing observed, so only the timeouts; saved
    even without any, so the stale index forgets a user whose presence moved on."""
    return advance_presence(
        session,
        user_id=user_id,
        presence=presence,
        step=lambda state: Stepped(None, state, (), save=True),
        now=now,
        store_of=store_of,
        decide=decide,
    )

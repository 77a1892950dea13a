"""NFC tags (store staff, field techs, the operator) and taps (app users).

Who manages a store's tags: its store staff, a tech key covering it, the operator
(``Staff.scope``); any other store's tag is not found, like a missing one.

A tap, in order (:func:`report_tap`):

1. ``tapped_at`` too old (``max_age_s``) or too far ahead (``max_skew_s``): 422;
2. the tag is read in this transaction, so a deleted tag no longer counts: unknown UID,
   or a tag of another store than the one the phone names, 404;
3. without ``beacon_proximity`` consent nothing is kept about the user: answered, not
   accepted (as sightings are);
4. the same tap again (user, UID, ``tapped_at``): 409, nothing recorded. The guard is the
   sightings' replay store, keyed within the user's keys so erasure clears it too;
5. the one presence flow (``presence.flow``) with the pure step ``nfc.core.tap``; ENTER
   goes to the decision with purpose ``beacon_proximity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.db import after_commit, after_rollback
from kernel.errors import Conflict, NotFound
from kernel.principal import Staff
from nfc import core, repository
from nfc.models import NfcTag
from preferences.core import Purpose
from preferences.service import consented
from presence.core import Presence, ZoneEvent
from presence.flow import DecideEvents, Stepped, StoreOf, advance_presence
from presence.store import PresenceStore
from stores import repository as stores


class ReplayGuard(Protocol):
    """The sightings' replay store (``beacons.store.SightingStore``) as taps use it."""

    def first_seen(self, keys: Sequence[str]) -> list[bool]: ...
    def keep_seen(self, keys: Sequence[str]) -> None: ...
    def forget_seen(self, keys: Sequence[str]) -> None: ...


# Tags


def register_tag(
    session: Session, *, staff: Staff, store_id: int, uid: str, placement: str
) -> NfcTag:
    """409 when the UID is registered anywhere, without saying where."""
    stores.get(session, store_id, staff.scope)
    taken = Conflict(f"NFC tag {uid} is already registered")
    if repository.by_uid(session, uid) is not None:
        raise taken
    tag = NfcTag(store_id=store_id, uid=uid, placement=placement)
    try:
        with session.begin_nested():  # a concurrent registration of the same tag
            session.add(tag)
            session.flush()
    except IntegrityError:
        raise taken from None
    return tag


def list_tags(
    session: Session, *, staff: Staff, store_id: int, after: int, limit: int
) -> list[NfcTag]:
    stores.get(session, store_id, staff.scope)
    return repository.of_store(session, store_id=store_id, after=after, limit=limit)


def delete_tag(session: Session, *, staff: Staff, tag_id: int) -> None:
    tag = session.get(NfcTag, tag_id)
    if tag is None or not staff.covers(tag.store_id):
        raise NotFound(f"no NFC tag {tag_id}")
    session.delete(tag)
    session.flush()


# Taps


@dataclass(frozen=True, slots=True)
class TapRules:
    max_age_s: float
    max_skew_s: float


@dataclass(frozen=True, slots=True)
class TapOutcome:
    tag: NfcTag
    accepted: bool
    ignored: str | None  # why not accepted: "no_consent" or "out_of_order"
    events: list[ZoneEvent]
    store_of: dict[str, int]
    notification_ids: list[int]


def find_tag(session: Session, *, uid: str, store_id: int | None) -> NfcTag:
    """The tag tapped; unknown, deleted or (when the app names one) another store's: 404."""
    tag = repository.by_uid(session, uid)
    if tag is None or (store_id is not None and tag.store_id != store_id):
        where = "" if store_id is None else f" at store {store_id}"
        raise NotFound(f"unknown NFC tag {uid}{where}")
    return tag


def report_tap(
    session: Session,
    *,
    user_id: int,
    uid: str,
    store_id: int | None,
    tapped_at: float,
    presence: PresenceStore,
    replays: ReplayGuard,
    rules: TapRules,
    policy_version: str,
    now: float,
    store_of: StoreOf,
    decide: DecideEvents,
) -> TapOutcome:
    """A phone tapped a tag: presence at its store through the one presence flow."""
    at = core.tap_time(tapped_at, now=now, max_age_s=rules.max_age_s, max_skew_s=rules.max_skew_s)
    tag = find_tag(session, uid=uid, store_id=store_id)
    if not consented(
        session, user_id=user_id, purpose=Purpose.BEACON_PROXIMITY, default_policy=policy_version
    ):
        return TapOutcome(tag, False, "no_consent", [], {}, [])
    key = f"{user_id}:nfc:{uid}:{round(tapped_at * 1000)}"
    if not replays.first_seen([key])[0]:
        raise Conflict("this tap was already reported")
    # Seen once committed; unmarked if this transaction fails, so the phone's retry is not
    # taken for a replay.
    after_commit(session, partial(replays.keep_seen, [key]))
    after_rollback(session, partial(replays.forget_seen, [key]))

    def step(state: Presence) -> Stepped[bool]:
        tapped = core.tap(state, store_id=tag.store_id, placement=tag.placement, at=at)
        return Stepped(tapped.accepted, tapped.presence, tapped.events, tapped.accepted)

    done = advance_presence(
        session,
        user_id=user_id,
        presence=presence,
        step=step,
        now=now,
        store_of=store_of,
        decide=decide,
    )
    ignored = None if done.result else "out_of_order"
    return TapOutcome(tag, done.result, ignored, done.events, done.store_of, done.notification_ids)

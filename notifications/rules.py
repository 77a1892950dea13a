"""Offers in the decision's terms: the active offers of the stores an event touched.

They are read at every ENTER, so each process keeps every active offer, with what the
notification's reason quotes (segment labels, the store's name), loaded whole in three
queries: ENTERs land on thousands of stores, and loading them one store at a time cost a
query per ENTER at a store not seen since the last change. The copy is checked against
the ``offers`` version counter (:mod:`kernel.versions`, one primary-key read per
decision) and reloaded whole when it moved: an offer edit, a segment relabelled, a
geofence redrawn or a store renamed applies to the very next decision in every process.
Consent and the targeting profile are never cached here. (Memory: about a kilobyte per
active offer.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import versions
from notifications.decide import OfferRule, Schedule
from offers.models import OFFERS, Offer
from presence.confidence import Confidence
from presence.core import Transition, ZoneKey
from stores.models import Store


@dataclass(frozen=True, slots=True)
class OfferView:
    """An active offer as the decision and its record need it, detached from any session."""

    rule: OfferRule
    title: str
    body: str
    deep_link: str | None
    store_name: str
    labels: Mapping[str, Mapping[str, str]]  # slug → {"en", "fr"}
    store_timezone: str = "UTC"
    holdout_pct: int = 0
    max_sends: int | None = None
    max_sends_per_day: int | None = None


def schedule_of(data: Mapping[str, Any] | None) -> Schedule | None:
    """An offer's stored schedule (``offers.schemas.OfferSchedule``) in the decision's terms."""
    if not data:
        return None

    def minute(hhmm: str) -> int:
        hours, minutes = hhmm.split(":")
        return int(hours) * 60 + int(minutes)

    return Schedule(
        frozenset(data.get("days", range(7))),
        minute(data.get("start", "00:00")),
        minute(data.get("end", "00:00")),
    )


# Offer triggers that are not a presence transition: a broadcast's flash offer and an NFC
# tap (the ENTER of a tag's zone).
_TRIGGERS = {"broadcast": Transition.ENTER, "tap": Transition.ENTER}


def as_rule(o: Offer) -> OfferRule:
    """An offer in the decision's terms."""
    fresh = o.starts_at or o.created_at
    return OfferRule(
        id=o.id,
        store_id=o.store_id,
        segments=frozenset(s.slug for s in o.segments),
        trigger=_TRIGGERS.get(o.trigger) or Transition(o.trigger),
        zones=frozenset(
            [str(ZoneKey("geofence", g.id)) for g in o.geofences]
            + [str(ZoneKey("beacon", o.store_id, z)) for z in o.zones]
        )
        or None,
        starts_at=o.starts_at.timestamp() if o.starts_at else None,
        ends_at=o.ends_at.timestamp() if o.ends_at else None,
        priority=o.priority,
        broadcast=o.trigger == "broadcast",
        zone_kind="nfc" if o.trigger == "tap" else None,
        schedule=schedule_of(o.schedule),
        has_budget=o.max_sends is not None or o.max_sends_per_day is not None,
        place_bound=o.place_bound,
        dwell_s=None if o.dwell_minutes is None else o.dwell_minutes * 60.0,
        fresh_at=fresh.timestamp() if fresh is not None else 0.0,
        min_confidence=None if o.min_confidence is None else Confidence(o.min_confidence),
    )


def _load(session: Session) -> dict[int, list[OfferView]]:
    """Every active offer, by store (segments and geofences in one select-in each)."""
    query = (
        select(Offer, Store.name, Store.timezone)
        .join(Store, Store.id == Offer.store_id)
        .where(Offer.active.is_(True))
        .order_by(Offer.id)
    )
    found: dict[int, list[OfferView]] = {}
    for o, store_name, timezone in session.execute(query):
        labels = {s.slug: {"en": s.label_en, "fr": s.label_fr} for s in o.segments}
        view = OfferView(
            as_rule(o),
            o.title,
            o.body,
            o.deep_link,
            store_name,
            labels,
            timezone,
            o.holdout_pct,
            o.max_sends,
            o.max_sends_per_day,
        )
        found.setdefault(o.store_id, []).append(view)
    return found


class OfferCache:
    """Every active offer, valid while the ``offers`` counter stays where it was."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._stores: dict[int, list[OfferView]] = {}

    def active(self, session: Session, store_ids: Iterable[int]) -> list[OfferView]:
        # The counter is read before the rows: a change committed in between leaves
        # newer rows under the older counter, reloaded at the next check (never staler).
        version = versions.read(session.connection(), OFFERS)
        with self._lock:
            stores = self._stores if version == self._version else None
        if stores is None:
            stores = _load(session)
            with self._lock:
                self._version, self._stores = version, stores
        return [v for s in sorted(set(store_ids)) for v in stores.get(s, ())]

    def clear(self) -> None:
        with self._lock:
            self._version, self._stores = -1, {}


cache = OfferCache()


def active_offers(session: Session, *, store_ids: Iterable[int]) -> list[OfferView]:
    """The active offers of these stores (a store that does not exist has none)."""
    return cache.active(session, store_ids)

"""Offers: store staff write them (``notifications.rules`` reads them for the decision)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from beacons.models import Beacon, BeaconStatus
from geofence import repository as geofence_repository
from geofence.models import Geofence
from kernel.errors import Invalid
from kernel.principal import Staff
from offers import repository
from offers.models import Offer
from offers.schemas import OfferCreate, OfferUpdate
from preferences.segments import segments_by_slug
from stores.repository import managed_by
from stores.service import get_store


def _geofences(session: Session, store_id: int, ids: list[int]) -> list[Geofence]:
    rows = geofence_repository.of_store_by_ids(session, store_id, ids)
    found = {g.id for g in rows}
    for gid in ids:
        if gid not in found:
            raise Invalid(f"geofence {gid} does not belong to store {store_id}")
    return rows


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at")


def _check_not_over(ends_at: datetime | None) -> None:
    """An offer whose window has closed could never fire."""
    if ends_at is not None and ends_at <= datetime.now(UTC):
        raise Invalid(f"ends_at {ends_at.isoformat()} is in the past: the offer could never fire")


def _zones(session: Session, store_id: int, zones: list[str]) -> list[str]:
    """The zones, each one a beacon zone of the store (retired beacons do not count)."""
    wanted = list(dict.fromkeys(zones))
    if not wanted:
        return wanted
    query = select(Beacon.zone).where(
        Beacon.store_id == store_id, Beacon.status != BeaconStatus.RETIRED.value
    )
    known = set(session.scalars(query))
    missing = [z for z in wanted if z not in known]
    if missing:
        have = ", ".join(sorted(known)) or "none: register its beacons first"
        raise Invalid(
            f"zones: store {store_id} has no beacon zone {', '.join(map(repr, missing))} "
            f"(its zones: {have}); the offer could never fire there"
        )
    return wanted


def _check_trigger(offer: Offer) -> None:
    if offer.trigger == "tap" and (offer.geofences or offer.zones):
        raise Invalid(
            "a `tap` offer fires on the store's NFC tags: geofence_ids and zones do not apply"
        )
    if offer.dwell_minutes is not None and offer.trigger != "dwell":
        raise Invalid(f"dwell_minutes needs trigger `dwell` (this offer's is `{offer.trigger}`)")


def create_offer(session: Session, *, staff: Staff, store_id: int, data: OfferCreate) -> Offer:
    get_store(session, staff=staff, store_id=store_id)
    _check_window(data.starts_at, data.ends_at)
    _check_not_over(data.ends_at)
    offer = Offer(
        store_id=store_id,
        title=data.title,
        body=data.body,
        deep_link=data.deep_link,
        trigger=data.trigger.value,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        active=data.active,
        priority=data.priority,
        max_sends=data.max_sends,
        max_sends_per_day=data.max_sends_per_day,
        schedule=None if data.schedule is None else data.schedule.model_dump(),
        dwell_minutes=data.dwell_minutes,
        place_bound=data.place_bound,
        holdout_pct=data.holdout_pct,
        min_confidence=None if data.min_confidence is None else data.min_confidence.value,
        segments=segments_by_slug(session, data.segments),
        geofences=_geofences(session, store_id, data.geofence_ids),
        zones=_zones(session, store_id, data.zones),
    )
    _check_trigger(offer)
    session.add(offer)
    session.flush()
    return offer


def get_offer(session: Session, *, staff: Staff, offer_id: int) -> Offer:
    return repository.get(session, offer_id, managed_by(staff))


def list_offers(
    session: Session, *, staff: Staff, store_id: int, after: int, limit: int
) -> list[Offer]:
    get_store(session, staff=staff, store_id=store_id)
    return repository.of_store(session, store_id, after=after, limit=limit)


def update_offer(session: Session, *, staff: Staff, offer_id: int, data: OfferUpdate) -> Offer:
    offer = get_offer(session, staff=staff, offer_id=offer_id)
    changes = data.model_dump(exclude_unset=True)
    # Nullable fields: an explicit null clears them (no budget, no schedule, no end).
    nullable = (
        "deep_link",
        "starts_at",
        "ends_at",
        "max_sends",
        "max_sends_per_day",
        "dwell_minutes",
    )
    for name in ("title", "body", "active", "place_bound", "holdout_pct", *nullable):
        if name in changes and (changes[name] is not None or name in nullable):
            setattr(offer, name, changes[name])
    if "schedule" in changes:
        offer.schedule = None if data.schedule is None else data.schedule.model_dump()
    if "min_confidence" in changes:  # stored as its plain value, null clearing it
        offer.min_confidence = None if data.min_confidence is None else data.min_confidence.value
    if "ends_at" in changes:
        _check_not_over(offer.ends_at)
    if offer.active:  # turned on again (or edited while on): the system's reason is void
        offer.inactive_reason = None
    if data.trigger is not None:
        offer.trigger = data.trigger.value
    if data.priority is not None:
        offer.priority = data.priority
    if data.segments is not None:
        offer.segments = segments_by_slug(session, data.segments)
    if data.geofence_ids is not None:
        offer.geofences = _geofences(session, offer.store_id, data.geofence_ids)
    if data.zones is not None:
        offer.zones = _zones(session, offer.store_id, data.zones)
    _check_window(offer.starts_at, offer.ends_at)
    _check_trigger(offer)
    session.flush()
    return offer


def delete_offer(session: Session, *, staff: Staff, offer_id: int) -> None:
    session.delete(get_offer(session, staff=staff, offer_id=offer_id))
    session.flush()

"""Every beacon query."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from beacons.eid import EidRegistration
from beacons.models import Beacon, BeaconEvent, BeaconStatus
from kernel.pagination import keyset


def by_identity(session: Session, identity: str) -> Beacon | None:
    return session.scalar(select(Beacon).where(Beacon.identity == identity))


def by_identities(session: Session, identities: Collection[str]) -> dict[str, Beacon]:
    if not identities:
        return {}
    rows = session.scalars(select(Beacon).where(Beacon.identity.in_(list(identities))))
    return {b.identity: b for b in rows}


def of_store(session: Session, store_id: int, *, after: int, limit: int) -> list[Beacon]:
    query = select(Beacon).where(Beacon.store_id == store_id)
    return list(session.scalars(keyset(query, Beacon.id, after=after, limit=limit)))


def needing_visit(
    session: Session, store_ids: Collection[int] | None, *, after: int, limit: int
) -> list[Beacon]:
    # By id, like every list: ordered by store with an id cursor, a page could skip beacons.
    query = select(Beacon).where(
        Beacon.needs_visit.is_(True), Beacon.status != BeaconStatus.RETIRED.value
    )
    if store_ids is not None:
        query = query.where(Beacon.store_id.in_(list(store_ids)))
    return list(session.scalars(keyset(query, Beacon.id, after=after, limit=limit)))


def in_service(session: Session) -> Iterator[Beacon]:
    """Every beacon not retired, for the health check, without loading all at once."""
    query = select(Beacon).where(Beacon.status != BeaconStatus.RETIRED.value).order_by(Beacon.id)
    return iter(session.scalars(query.execution_options(yield_per=500)))


def eid_registrations(session: Session) -> list[EidRegistration]:
    query = select(
        Beacon.identity, Beacon.eid_identity_key, Beacon.eid_rotation_exponent, Beacon.eid_epoch_s
    ).where(
        Beacon.eid_identity_key.is_not(None),
        Beacon.status != BeaconStatus.RETIRED.value,
    )
    return [
        EidRegistration(identity, bytes(key), int(exponent), int(epoch))
        for identity, key, exponent, epoch in session.execute(query)
        if key is not None and exponent is not None and epoch is not None
    ]


def events_of(session: Session, beacon_id: int, *, after: int, limit: int) -> list[BeaconEvent]:
    query = select(BeaconEvent).where(BeaconEvent.beacon_id == beacon_id)
    return list(session.scalars(keyset(query, BeaconEvent.id, after=after, limit=limit)))

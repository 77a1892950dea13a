"""NFC tag queries. Scoping to the caller's stores is the service's: these read by id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.pagination import keyset
from nfc.models import NfcTag


def by_uid(session: Session, uid: str) -> NfcTag | None:
    return session.scalars(select(NfcTag).where(NfcTag.uid == uid)).first()


def of_store(session: Session, *, store_id: int, after: int, limit: int) -> list[NfcTag]:
    query = select(NfcTag).where(NfcTag.store_id == store_id)
    return list(session.scalars(keyset(query, NfcTag.id, after=after, limit=limit)))

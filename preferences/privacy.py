"""Preferences' personal data: the consent ledger, interests, activations, and delivery
preferences. Superseded ledger lines and lapsed activations are purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.personal_data import Row, as_row, delete_rows, register
from preferences.models import (
    Activation,
    ConsentRecord,
    DeliveryPreferences,
    IdShare,
    Interest,
    MutedStore,
    Segment,
)


def _export_consent(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id)
    )
    return [as_row(r) for r in rows]


def _erase_consent(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(ConsentRecord).where(ConsentRecord.user_id == user_id))


def _purge_consent(session: Session, now: datetime, settings: Settings) -> int:
    """Old lines that a later line for the same user and purpose superseded.

    The latest line per user and purpose stays whatever its age: it is the current state
    and its proof.
    """
    cutoff = now - timedelta(days=settings.consent_retention_days)
    latest = select(func.max(ConsentRecord.id)).group_by(
        ConsentRecord.user_id, ConsentRecord.purpose
    )
    return delete_rows(
        session,
        delete(ConsentRecord).where(
            ConsentRecord.recorded_at < cutoff, ConsentRecord.id.not_in(latest)
        ),
    )


def _export_interests(session: Session, user_id: int) -> list[Row]:
    rows = session.execute(
        select(Interest, Segment.slug)
        .join(Segment, Segment.id == Interest.segment_id)
        .where(Interest.user_id == user_id)
        .order_by(Segment.id)
    )
    return [{**as_row(i), "segment": slug} for i, slug in rows]


def _erase_interests(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(Interest).where(Interest.user_id == user_id))


def _export_activations(session: Session, user_id: int) -> list[Row]:
    rows = session.execute(
        select(Activation, Segment.slug)
        .join(Segment, Segment.id == Activation.segment_id)
        .where(Activation.user_id == user_id)
        .order_by(Activation.id)
    )
    return [{**as_row(a), "segment": slug} for a, slug in rows]


def _erase_activations(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(Activation).where(Activation.user_id == user_id))


def _purge_activations(session: Session, now: datetime, _settings: Settings) -> int:
    return delete_rows(session, delete(Activation).where(Activation.until <= now))


def _export_delivery(session: Session, user_id: int) -> list[Row]:
    prefs = session.get(DeliveryPreferences, user_id)
    return [] if prefs is None else [as_row(prefs)]


def _erase_delivery(session: Session, user_id: int) -> int:
    return delete_rows(
        session, delete(DeliveryPreferences).where(DeliveryPreferences.user_id == user_id)
    )


def _export_muted(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(MutedStore).where(MutedStore.user_id == user_id).order_by(MutedStore.store_id)
    )
    return [as_row(m) for m in rows]


def _erase_muted(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(MutedStore).where(MutedStore.user_id == user_id))


register("consent_records", export=_export_consent, erase=_erase_consent, purge=_purge_consent)
register("interests", export=_export_interests, erase=_erase_interests)
register(
    "activations", export=_export_activations, erase=_erase_activations, purge=_purge_activations
)
register("delivery_preferences", export=_export_delivery, erase=_erase_delivery)


def _export_id_shares(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(IdShare).where(IdShare.user_id == user_id).order_by(IdShare.store_id)
    )
    return [as_row(m) for m in rows]


def _erase_id_shares(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(IdShare).where(IdShare.user_id == user_id))


register("muted_stores", export=_export_muted, erase=_erase_muted)
register("id_shares", export=_export_id_shares, erase=_erase_id_shares)

"""The segment taxonomy, policy versions, and a user's consent, interests, activations and
delivery preferences."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from accounts.models import User
from kernel.ids import IdPath
from kernel.text import SlugPath
from preferences import segments, service
from preferences import shares as id_shares
from preferences.core import Purpose
from preferences.models import Activation, PolicyVersion, Segment
from preferences.schemas import (
    ActivationIn,
    ActivationOut,
    ConsentIn,
    ConsentOut,
    ConsentState,
    DeliveryIn,
    DeliveryOut,
    IdSharesIn,
    IdSharesOut,
    InterestsIn,
    InterestsOut,
    PolicyIn,
    PolicyOut,
    QuietHoursOut,
    SegmentCreate,
    SegmentOut,
    SegmentUpdate,
)
from server.deps import CurrentUser, Operator, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["preferences"])


def _segment_out(seg: Segment, session: Session) -> SegmentOut:
    parent = session.get(Segment, seg.parent_id) if seg.parent_id else None
    return SegmentOut(
        slug=seg.slug,
        parent=parent.slug if parent else None,
        label_en=seg.label_en,
        label_fr=seg.label_fr,
    )


@router.get("/segments", summary="The segment taxonomy users can opt into")
def list_segments(session: SessionDep) -> list[SegmentOut]:
    rows = segments.list_segments(session)
    slug_of = {s.id: s.slug for s in rows}
    return [
        SegmentOut(
            slug=s.slug,
            parent=slug_of.get(s.parent_id) if s.parent_id else None,
            label_en=s.label_en,
            label_fr=s.label_fr,
        )
        for s in rows
    ]


@router.post(
    "/segments",
    status_code=status.HTTP_201_CREATED,
    summary="Add a segment to the taxonomy",
    tags=["operator"],
)
def create_segment(body: SegmentCreate, session: SessionDep, _staff: Operator) -> SegmentOut:
    seg = segments.create_segment(
        session,
        slug=body.slug,
        parent=body.parent,
        label_en=body.label_en,
        label_fr=body.label_fr,
    )
    return _segment_out(seg, session)


@router.patch("/segments/{slug}", summary="Relabel or move a segment", tags=["operator"])
def update_segment(
    slug: SlugPath, body: SegmentUpdate, session: SessionDep, _staff: Operator
) -> SegmentOut:
    seg = segments.update_segment(
        session,
        slug=slug,
        label_en=body.label_en,
        label_fr=body.label_fr,
        move="parent" in body.model_fields_set,
        parent=body.parent,
    )
    return _segment_out(seg, session)


@router.delete(
    "/segments/{slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a leaf segment no offer targets",
    tags=["operator"],
)
def delete_segment(slug: SlugPath, session: SessionDep, _staff: Operator) -> None:
    segments.delete_segment(session, slug=slug)


def _policy_out(policy: PolicyVersion) -> PolicyOut:
    return PolicyOut(
        version=policy.version,
        published_at=policy.published_at,
        summary=policy.summary,
        text=policy.text,
        changed_purposes=[Purpose(p) for p in policy.changed_purposes],
    )


@router.get("/policies/current", summary="The privacy policy version in force")
def current_policy(session: SessionDep, runtime: RuntimeDep) -> PolicyOut:
    policy = service.latest_policy(session)
    if policy is not None:
        return _policy_out(policy)
    return PolicyOut(
        version=runtime.settings.policy_version,
        published_at=None,
        summary="The policy this server was configured with.",
        text="",
        changed_purposes=list(Purpose),
    )


@router.get("/policies", summary="Every published policy version, oldest first")
def list_policies(session: SessionDep) -> list[PolicyOut]:
    return [_policy_out(p) for p in service.published_policies(session)]


@router.post(
    "/policies",
    status_code=status.HTTP_201_CREATED,
    summary="Publish a new policy version; purposes it changes need fresh consent",
    tags=["operator"],
)
def publish_policy(body: PolicyIn, session: SessionDep, _staff: Operator) -> PolicyOut:
    policy = service.publish_policy(
        session,
        version=body.version,
        summary=body.summary,
        text=body.text,
        changed=body.changed_purposes,
    )
    return _policy_out(policy)


def _consent(session: Session, user: User, default_policy: str) -> ConsentState:
    states = service.consent_states(session, user_id=user.id, default_policy=default_policy)
    history = service.policy_history(session, default_policy=default_policy)
    return ConsentState(
        current_policy_version=history.current,
        purposes=[
            ConsentOut(
                purpose=s.purpose,
                granted=s.granted,
                policy_version=s.policy_version,
                in_force=s.in_force,
            )
            for s in states
        ],
    )


@router.get("/me/consent", summary="My consent, per purpose", tags=["me"])
def get_consent(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> ConsentState:
    return _consent(session, user, runtime.settings.policy_version)


@router.put("/me/consent", summary="Grant or withdraw consent, per purpose", tags=["me"])
def put_consent(
    body: ConsentIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep
) -> ConsentState:
    """Appends to the consent ledger. A withdrawal applies to the very next event."""
    default_policy = runtime.settings.policy_version
    service.record_consent(
        session,
        user=user,
        choices=body.purposes,
        policy_version=body.policy_version,
        default_policy=default_policy,
        source=body.source,
        app_version=body.app_version,
    )
    return _consent(session, user, default_policy)


@router.get("/me/interests", summary="The segments I opted into", tags=["me"])
def get_interests(session: SessionDep, user: CurrentUser) -> InterestsOut:
    return InterestsOut(segments=[s.slug for s in service.interests(session, user_id=user.id)])


@router.put("/me/interests", summary="Replace the segments I opt into", tags=["me"])
def put_interests(body: InterestsIn, session: SessionDep, user: CurrentUser) -> InterestsOut:
    segments = service.set_interests(session, user=user, slugs=body.segments)
    return InterestsOut(segments=[s.slug for s in segments])


def _activation_out(activation: Activation, segment: Segment) -> ActivationOut:
    return ActivationOut(
        id=activation.id,
        segment=segment.slug,
        label_en=segment.label_en,
        label_fr=segment.label_fr,
        created_at=activation.created_at,
        until=activation.until,
    )


@router.post(
    "/me/activations",
    status_code=status.HTTP_201_CREATED,
    summary="Turn a segment on for a while (it lapses by itself)",
    tags=["me"],
)
def activate(
    body: ActivationIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep
) -> ActivationOut:
    activation, segment = service.activate(
        session,
        user=user,
        slug=body.segment,
        until=body.until,
        now=datetime.now(UTC),
        max_days=runtime.settings.activation_max_days,
    )
    return _activation_out(activation, segment)


@router.get("/me/activations", summary="My segments turned on for now", tags=["me"])
def list_activations(session: SessionDep, user: CurrentUser) -> list[ActivationOut]:
    rows = service.active_activations(session, user_id=user.id, at=datetime.now(UTC))
    return [_activation_out(a, s) for a, s in rows]


@router.delete(
    "/me/activations/{activation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn an activation off before it lapses",
    tags=["me"],
)
def end_activation(activation_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.end_activation(session, user=user, activation_id=activation_id)


def _delivery_out(prefs: service.Delivery) -> DeliveryOut:
    quiet = None
    if prefs.quiet_hours is not None:
        quiet = QuietHoursOut(start=prefs.quiet_hours[0], end=prefs.quiet_hours[1])
    return DeliveryOut(
        max_per_day=prefs.max_per_day,
        quiet_hours=quiet,
        muted_store_ids=prefs.muted_store_ids,
        timezone=prefs.timezone,
    )


@router.get("/me/preferences", summary="My delivery preferences", tags=["me"])
def get_preferences(session: SessionDep, user: CurrentUser) -> DeliveryOut:
    return _delivery_out(service.delivery_preferences(session, user=user))


@router.put(
    "/me/preferences",
    summary="Replace my delivery preferences: daily cap, quiet hours, muted stores",
    tags=["me"],
)
def put_preferences(body: DeliveryIn, session: SessionDep, user: CurrentUser) -> DeliveryOut:
    prefs = service.set_delivery_preferences(
        session,
        user=user,
        max_per_day=body.max_per_day,
        quiet_hours=(body.quiet_hours.start, body.quiet_hours.end) if body.quiet_hours else None,
        muted_store_ids=body.muted_store_ids,
        timezone=body.timezone,
    )
    return _delivery_out(prefs)


def _shares_out(session: Session, user: User, store_ids: list[int], policy: str) -> IdSharesOut:
    granted = service.consented(
        session, user_id=user.id, purpose=Purpose.SHARE_ID_WITH_STORES, default_policy=policy
    )
    return IdSharesOut(store_ids=store_ids, in_force=granted)


@router.get("/me/id-shares", summary="The stores my user id may be sent to", tags=["me"])
def get_id_shares(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> IdSharesOut:
    shares = id_shares.listed(session, user_id=user.id)
    return _shares_out(session, user, shares, runtime.settings.policy_version)


@router.put(
    "/me/id-shares",
    summary="Choose the stores whose webhooks may carry my user id",
    tags=["me"],
)
def put_id_shares(
    body: IdSharesIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep
) -> IdSharesOut:
    """Stores' webhooks never name a shopper unless the shopper picked the store here and
    granted the `share_id_with_stores` consent (`PUT /v1/me/consent`); withdrawing either
    applies to the very next delivery."""
    shares = id_shares.replace(session, user=user, store_ids=body.store_ids)
    return _shares_out(session, user, shares, runtime.settings.policy_version)

"""The segment taxonomy, and a user's consent and interests."""

from __future__ import annotations

from fastapi import APIRouter

from accounts.models import User
from preferences import service
from preferences.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentState,
    InterestsIn,
    InterestsOut,
    SegmentOut,
)
from server.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["preferences"])


@router.get("/segments", summary="The segment taxonomy users can opt into")
def list_segments(session: SessionDep) -> list[SegmentOut]:
    segments = service.list_segments(session)
    slug_of = {s.id: s.slug for s in segments}
    return [
        SegmentOut(
            slug=s.slug,
            parent=slug_of.get(s.parent_id) if s.parent_id else None,
            label_en=s.label_en,
            label_fr=s.label_fr,
        )
        for s in segments
    ]


def _consent(session: SessionDep, user: User, policy: str) -> ConsentState:
    states = service.consent_states(session, user_id=user.id)
    return ConsentState(
        current_policy_version=policy,
        purposes=[
            ConsentOut(purpose=s.purpose, granted=s.granted, policy_version=s.policy_version)
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
    policy = runtime.settings.policy_version
    service.record_consent(
        session,
        user=user,
        choices=body.purposes,
        policy_version=body.policy_version,
        current_policy=policy,
        source=body.source,
        app_version=body.app_version,
    )
    return _consent(session, user, policy)


@router.get("/me/interests", summary="The segments I opted into", tags=["me"])
def get_interests(session: SessionDep, user: CurrentUser) -> InterestsOut:
    return InterestsOut(segments=[s.slug for s in service.interests(session, user_id=user.id)])


@router.put("/me/interests", summary="Replace the segments I opt into", tags=["me"])
def put_interests(body: InterestsIn, session: SessionDep, user: CurrentUser) -> InterestsOut:
    segments = service.set_interests(session, user=user, slugs=body.segments)
    return InterestsOut(segments=[s.slug for s in segments])

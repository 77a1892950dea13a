"""NFC tags (store staff, field techs, the operator) and taps (app users)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from geofence.schemas import ZoneEventOut
from geofence.tracking import zone_stores
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from nfc import service
from nfc.schemas import RedeemedOut, TagCreate, TagOut, TapIn, TapOut
from server.deps import (
    CurrentStaff,
    CurrentUser,
    RuntimeDep,
    SessionDep,
    decision,
    present_code,
)

router = APIRouter(tags=["nfc"])
me_router = APIRouter(prefix="/v1/me", tags=["me"])


@router.post(
    "/v1/stores/{store_id}/nfc-tags",
    status_code=status.HTTP_201_CREATED,
    summary="Register an NFC tag placed in a store",
)
def register_tag(
    store_id: IdPath, body: TagCreate, session: SessionDep, staff: CurrentStaff
) -> TagOut:
    """Store staff, a tech key covering the store, or the operator. 409 when the UID is
    already registered (a physical tag is in one shop)."""
    tag = service.register_tag(
        session, staff=staff, store_id=store_id, uid=body.uid, placement=body.placement
    )
    return TagOut.of(tag)


@router.get("/v1/stores/{store_id}/nfc-tags", summary="A store's NFC tags")
def list_tags(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[TagOut]:
    rows = service.list_tags(session, staff=staff, store_id=store_id, after=after, limit=limit)
    return Page(
        items=[TagOut.of(r) for r in rows], next_after=next_cursor([r.id for r in rows], limit)
    )


@router.delete(
    "/v1/nfc-tags/{tag_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an NFC tag; taps on it are unknown from now on",
)
def delete_tag(tag_id: IdPath, session: SessionDep, staff: CurrentStaff) -> Response:
    service.delete_tag(session, staff=staff, tag_id=tag_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post("/taps", summary="Report a tap on a store's NFC tag")
def report_tap(body: TapIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> TapOut:
    """A tap is presence at the tag's store (zone `nfc:<store>:<placement>`), kept for
    minutes and only with `beacon_proximity` consent; the tap itself is not stored.
    404 for an unknown tag, 409 for a tap already reported, 422 for a `tapped_at` too
    old or too far ahead."""
    settings = runtime.settings
    redeemed = None
    if body.code is not None:
        # The code first: a refused code fails the whole tap, nothing recorded.
        tag = service.find_tag(session, uid=body.uid, store_id=body.store_id)
        offer_id, at = present_code(
            session, user_id=user.id, code=body.code, store_id=tag.store_id, now=datetime.now(UTC)
        )
        redeemed = RedeemedOut(code=body.code.upper(), offer_id=offer_id, redeemed_at=at)
    outcome = service.report_tap(
        session,
        user_id=user.id,
        uid=body.uid,
        store_id=body.store_id,
        tapped_at=body.tapped_at.timestamp(),
        presence=runtime.presence,
        replays=runtime.sightings,
        rules=service.TapRules(settings.max_fix_age_s, settings.max_clock_skew_s),
        policy_version=settings.policy_version,
        now=time.time(),
        store_of=zone_stores(runtime.index),
        decide=decision(runtime),
    )
    return TapOut(
        accepted=outcome.accepted,
        ignored=outcome.ignored,
        store_id=outcome.tag.store_id,
        placement=outcome.tag.placement,
        events=[
            ZoneEventOut(
                zone=e.zone,
                store_id=outcome.store_of.get(e.zone),
                transition=e.transition.value,
                at=datetime.fromtimestamp(e.at, UTC),
                confidence=e.confidence,
            )
            for e in outcome.events
        ],
        notifications=outcome.notification_ids,
        redeemed=redeemed,
    )

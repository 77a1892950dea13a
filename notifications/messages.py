"""What a device receives for a notification: the text, the data beside it (an offer's
one-time redemption code, its QR text and buy-now link; a look's id), the collapse key
and how long the push may wait to be delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kernel.config import Settings
from notifications.models import Notification
from notifications.push import FCM_MAX_TTL_S, PushMessage
from offers.models import Offer
from redemptions import qr
from redemptions.service import buy_now_link, issue_offer_code

DEFAULT_TTL_S = 86400  # an offer without an end date: a day


def push_data(
    session: Session, note: Notification, offer: Offer | None, settings: Settings
) -> dict[str, str]:
    """What the app receives beside the text. A pushed offer carries its one-time
    redemption code (issued here, once per notification: a retried delivery finds the
    same code), the text its QR code encodes and a buy-now deep link; a friend's look
    carries its id, for the app to open it."""
    data = {"notification_id": str(note.id), "offer_id": str(note.offer_id or "")}
    if note.deep_link:
        data["deep_link"] = note.deep_link
    if note.look_id is not None:
        data["look_id"] = str(note.look_id)
    if offer is not None:
        code = issue_offer_code(
            session,
            user_id=note.user_id,
            store_id=offer.store_id,
            offer_id=offer.id,
            notification_id=note.id,
            expires_at=offer.ends_at,
        )
        data["redemption_code"] = code.code
        data["redemption_qr"] = qr.payload(code.code)
        data["buy_now"] = buy_now_link(settings, offer_id=offer.id, code=code.code)
    return data


def message(
    note: Notification, offer: Offer | None, token: str, data: dict[str, str], now: datetime
) -> PushMessage:
    """The push for one device. A store's offers share one collapse key (Android
    collapse_key, APNs collapse id and thread id: ``store-<id>``), so a device shows the
    store's latest only; a friend's look collapses with itself. The message lives as long
    as the offer is valid: FCM does not deliver it after that (Android ttl, APNs expiration).
    """
    if note.look_id is not None:
        key = f"look-{note.look_id}"
    elif offer is not None or note.store_id is not None:
        key = f"store-{offer.store_id if offer is not None else note.store_id}"
    else:
        key = f"notification-{note.id}"
    ttl_s = DEFAULT_TTL_S
    # A place-bound push lives as long as the visit (expires_at, capped by the offer's end
    # when decided); another as long as the offer.
    ends = note.expires_at or (offer.ends_at if offer is not None else None)
    if ends is not None:
        remaining = int((ends - now).total_seconds())
        ttl_s = min(FCM_MAX_TTL_S, max(0, remaining))
    return PushMessage(
        token=token, title=note.title, body=note.body, data=data, collapse_key=key, ttl_s=ttl_s
    )

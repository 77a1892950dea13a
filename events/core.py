"""Event names, webhook signatures and delivery backoff: pure, time passed in.

Names follow Radar's where Radar has one (``user.entered_geofence``,
``user.dwelled_in_geofence``, ``user.exited_geofence``, ``user.entered_beacon``…); a zone
within a store is a *beacon zone* here, so the beacon names say so. An NFC tap is
momentary: only its ENTER is an event (``user.tapped_nfc``).

Signatures follow the Stripe scheme: the header
``Vicinity-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. A
receiver verifies it with nothing but the standard library::

    import hashlib, hmac, time

    def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(","))
        signed = parts["t"].encode() + b"." + body
        good = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(parts["t"])) <= tolerance_s
        return fresh and hmac.compare_digest(good, parts.get("v1", ""))

and de-duplicates on the body's ``id`` (also in the ``Vicinity-Event-Id`` header): a
delivery may arrive more than once (a retry after a timeout the receiver did answer).

Retries: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
And Jitter", 2015), for at most ``RETRY_FOR_S`` after the event; then the delivery is dead.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Final

SIGNATURE_HEADER: Final = "Vicinity-Signature"
EVENT_ID_HEADER: Final = "Vicinity-Event-Id"

ZONE_EVENT_NAMES: Final[dict[tuple[str, str], str]] = {
    ("geofence", "enter"): "user.entered_geofence",
    ("geofence", "dwell"): "user.dwelled_in_geofence",
    ("geofence", "exit"): "user.exited_geofence",
    ("beacon", "enter"): "user.entered_beacon_zone",
    ("beacon", "dwell"): "user.dwelled_in_beacon_zone",
    ("beacon", "exit"): "user.exited_beacon_zone",
    ("nfc", "enter"): "user.tapped_nfc",
}
PUSH_SENT: Final = "push.sent"
PUSH_OPENED: Final = "push.opened"
OFFER_REDEEMED: Final = "offer.redeemed"
POINTS_EARNED: Final = "points.earned"

EVENT_NAMES: Final = frozenset(
    {*ZONE_EVENT_NAMES.values(), PUSH_SENT, PUSH_OPENED, OFFER_REDEEMED, POINTS_EARNED}
)

BASE_BACKOFF_S: Final = 10.0
MAX_BACKOFF_S: Final = 3600.0
RETRY_FOR_S: Final = 24 * 3600.0


def zone_event_name(zone: str, transition: str) -> str | None:
    """The event a zone transition is (``zone`` in its string form ``kind:id[:name]``);
    ``None`` for a transition that is no event (an NFC tag's exit)."""
    kind = zone.partition(":")[0]
    return ZONE_EVENT_NAMES.get((kind, transition))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance_s`` old."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff_s(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: full jitter."""
    ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** min(attempts, 30))
    return (rng or random).uniform(0.0, ceiling)


def gives_up(*, age_s: float, next_in_s: float) -> bool:
    """Whether a delivery ``age_s`` old whose next try is ``next_in_s`` away is dead."""
    return age_s + next_in_s > RETRY_FOR_S

"""An offer's ``min_confidence`` on PostgreSQL and Redis: a "high" offer does not fire on
a low-accuracy fix (skipped, and counted as such for the store), but fires when the
store's beacon confirms the fix, and on an NFC tap; the confidence is recorded with the
notification and the zone event. And the pure rule, for every pair of levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from notifications.decide import (
    History,
    OfferRule,
    Pacing,
    Skip,
    Skipped,
    Trigger,
    decide_outcome,
)
from notifications.models import Notification
from preferences.core import TargetingProfile
from presence.confidence import Confidence
from presence.core import Transition
from tests.beacons.factories import new_beacon, report, sighting
from tests.factories import Shop, api_key, auth, fix, new_shopper, open_shop, set_consent
from tests.nfc.factories import COUNTER, new_tag, seconds_ago, tap


def _shopper(client: TestClient, settings: Settings) -> str:
    token = new_shopper(client, settings, interests=["fashion"])
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    return token


def _locate(
    client: TestClient, token: str, where: tuple[float, float], at: datetime, accuracy_m: float
) -> dict[str, Any]:
    body = {"fixes": [fix(*where, at, accuracy_m=accuracy_m)]}
    r = client.post("/v1/me/locations", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _stats(client: TestClient, shop: Shop) -> dict[str, int]:
    now = datetime.now(UTC)
    query = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    r = client.get(f"/v1/stores/{shop.store_id}/stats", params=query, headers=auth(shop.staff))
    assert r.status_code == 200, r.text
    (offer,) = r.json()["subjects"]
    totals: dict[str, int] = offer["totals"]
    return totals


def test_a_high_offer_skips_a_low_accuracy_fix(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(
        client, sessions, name="Sûr", east_m=0.0, segments=["fashion"], min_confidence="high"
    )
    token = _shopper(client, settings)
    body = _locate(client, token, shop.center, datetime.now(UTC) - timedelta(seconds=30), 100.0)
    assert [(e["transition"], e["confidence"]) for e in body["events"]] == [("enter", "low")]
    assert body["notifications"] == []
    with sessions() as session:
        assert session.scalars(select(Notification)).all() == []
    # Skipped by the store's condition: counted for the store, none of the user's inbox.
    assert _stats(client, shop) == {"eligible": 1, "suppressed_low_confidence": 1}


def test_a_high_offer_fires_when_the_stores_beacon_confirms_the_fix(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(
        client, sessions, name="Sûr", east_m=0.0, segments=["fashion"], min_confidence="high"
    )
    new_beacon(client, api_key(sessions, Role.TECH), shop.store_id, zone="till", at=shop.center)
    token = _shopper(client, settings)
    heard_at = datetime.now(UTC) - timedelta(seconds=60)

    # The beacon alone, a metre or so away: medium, not enough for this offer.
    heard = report(client, token, [sighting(-60, heard_at)])
    assert [(e["transition"], e["confidence"]) for e in heard["events"]] == [("enter", "medium")]
    assert heard["notifications"] == []
    # A poor fix alone would be low; inside the fence of the store whose beacon was just
    # heard, GPS and beacon agree: high, and the offer fires.
    body = _locate(client, token, shop.center, heard_at + timedelta(seconds=20), 60.0)
    assert [(e["transition"], e["confidence"]) for e in body["events"]] == [("enter", "high")]
    [note_id] = body["notifications"]

    note = client.get(f"/v1/me/notifications/{note_id}", headers=auth(token)).json()
    assert (note["zone"], note["reason"]["confidence"]) == (f"geofence:{shop.geofence_id}", "high")
    feed = client.get("/v1/events", headers=auth(shop.staff)).json()["items"]
    moves = [e for e in feed if e["name"].startswith("user.")]  # push.sent follows
    assert [(e["name"], e["data"]["confidence"]) for e in moves] == [
        ("user.entered_beacon_zone", "medium"),
        ("user.entered_geofence", "high"),
    ]


def test_a_high_tap_offer_fires_on_an_nfc_tap(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(
        client,
        sessions,
        name="Sûr",
        east_m=0.0,
        segments=["fashion"],
        trigger="tap",
        min_confidence="high",
    )
    new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)
    body = tap(client, token, COUNTER, seconds_ago(5))
    assert [(e["transition"], e["confidence"]) for e in body["events"]] == [("enter", "high")]
    assert len(body["notifications"]) == 1


# The pure decision.

levels = st.sampled_from(list(Confidence))


@given(levels, st.one_of(st.none(), levels))
def test_the_decision_skips_an_event_less_sure_than_the_offer_asks(
    event: Confidence, minimum: Confidence | None
) -> None:
    offer = OfferRule(1, 1, frozenset({"fashion"}), Transition.ENTER, None, min_confidence=minimum)
    trigger = Trigger("geofence:1", 1, Transition.ENTER, 1_800_000_000.0, confidence=event)
    outcome = decide_outcome(
        TargetingProfile(frozenset({"fashion"})), [trigger], [offer], History(), Pacing()
    )
    if minimum is None or event.level >= minimum.level:
        assert [(d.offer_id, d.confidence) for d in outcome.decisions] == [(1, event)]
        assert outcome.skipped == []
    else:
        assert outcome.decisions == []
        assert outcome.skipped == [Skipped("offer:1", 1, Skip.LOW_CONFIDENCE)]

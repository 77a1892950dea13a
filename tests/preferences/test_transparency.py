"""Every notification says why it was sent, completely, in the user's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from notifications.explain import explain
from notifications.models import Notification
from tests.factories import auth, clock, open_shop, set_consent, visit


def _shopper(client: TestClient, settings: Settings, locale: str, interests: list[str]) -> str:
    r = client.post("/v1/users", json={"locale": locale, "timezone": "Europe/Paris"})
    token = str(r.json()["token"])
    set_consent(client, settings, token, granted=True)
    r = client.put("/v1/me/interests", json={"segments": interests}, headers=auth(token))
    assert r.status_code == 200, r.text
    # A device, so the push is actually sent and the sentence may say "Sent because".
    r = client.post(
        "/v1/me/devices", json={"token": f"phone-{locale}", "platform": "ios"}, headers=auth(token)
    )
    assert r.status_code == 201, r.text
    return token


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en",
            "Sent because you entered Maison Rivoli (the area “Rivoli entrance”), this offer "
            "targets Shoes, which you follow, and you agreed to offers near you; "
            "rule: at most one push per offer per day, outside your quiet hours and within "
            "your daily limit.",
        ),
        (
            "fr",
            "Envoyée parce que vous êtes entré·e chez Maison Rivoli (la zone « Rivoli "
            "entrance »), que cette offre vise Chaussures, que vous suivez, et que vous avez "
            "accepté les offres près de vous ; règle : au plus une notification par offre et "
            "par jour, hors de vos heures calmes et dans votre limite quotidienne.",
        ),
    ],
)
def test_the_reason_names_store_zone_trigger_segments_consent_and_rule(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    locale: str,
    expected: str,
) -> None:
    shop = open_shop(
        client,
        sessions,
        name="Maison Rivoli",
        east_m=0.0,
        segments=["shoes", "tech"],
        fence_name="Rivoli entrance",
    )
    token = _shopper(client, settings, locale, ["fashion"])
    (note_id,) = visit(client, token, shop, next(clock()))["notifications"]

    r = client.get(f"/v1/me/notifications/{note_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    note = r.json()
    assert note["why"] == expected
    reason = note["reason"]
    assert reason["segments"] == ["shoes"]
    assert reason["labels"] == {"shoes": {"en": "Shoes", "fr": "Chaussures"}}
    assert reason["store"] == "Maison Rivoli"
    assert reason["store_id"] == shop.store_id
    assert reason["zone_kind"] == "geofence"
    assert reason["zone_name"] == "Rivoli entrance"
    assert reason["trigger"] == "enter"
    assert reason["rule"] == "one_per_offer_per_day"
    assert reason["purpose"] == "location_offers"


def test_the_reason_is_kept_as_it_was_when_sent(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, operator: str
) -> None:
    shop = open_shop(client, sessions, name="Cave", east_m=0.0, segments=["wine"])
    token = _shopper(client, settings, "en", ["wine"])
    (note_id,) = visit(client, token, shop, next(clock()))["notifications"]
    try:
        r = client.patch("/v1/segments/wine", json={"label_en": "Spirits"}, headers=auth(operator))
        assert r.status_code == 200
        why = client.get(f"/v1/me/notifications/{note_id}", headers=auth(token)).json()["why"]
        assert "targets Wine and spirits," in why
    finally:
        client.patch(
            "/v1/segments/wine", json={"label_en": "Wine and spirits"}, headers=auth(operator)
        )


def test_someone_elses_notification_is_not_found(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Cave", east_m=0.0, segments=["wine"])
    token = _shopper(client, settings, "en", ["wine"])
    (note_id,) = visit(client, token, shop, next(clock()))["notifications"]
    other = _shopper(client, settings, "fr", ["wine"])
    r = client.get(f"/v1/me/notifications/{note_id}", headers=auth(other))
    assert r.status_code == 404


def _note(trigger: str, reason: dict[str, object]) -> Notification:
    return Notification(
        zone=str(reason.get("zone", "x")), trigger=trigger, reason=reason, status="sent"
    )


def test_beacon_zones_and_dwells_are_explained() -> None:
    note = _note(
        "dwell",
        {
            "segments": ["fragrance", "cosmetics"],
            "labels": {
                "fragrance": {"en": "Fragrance", "fr": "Parfums"},
                "cosmetics": {"en": "Cosmetics", "fr": "Cosmétiques"},
            },
            "store": "Sephora Rivoli",
            "zone": "beacon:4:perfume-bar",
            "zone_kind": "beacon",
            "zone_name": "perfume-bar",
            "trigger": "dwell",
            "rule": "one_per_offer_per_day",
            "purpose": "beacon_proximity",
        },
    )
    assert explain(note, "en").startswith(
        "Sent because you stayed a while at Sephora Rivoli (the beacon zone “perfume-bar”), "
        "this offer targets Fragrance and Cosmetics, which you follow, and you agreed to "
        "in-store beacon offers; rule:"
    )
    assert explain(note, "fr-FR").startswith(
        "Envoyée parce que vous êtes resté·e un moment chez Sephora Rivoli (la zone de balise "
        "« perfume-bar »), que cette offre vise Parfums et Cosmétiques, que vous suivez, et que "
        "vous avez accepté les offres des balises en magasin ; règle :"
    )


def test_reasons_recorded_before_labels_existed_still_read() -> None:
    legacy = {
        "segments": ["fashion"],
        "store": "Maison Rivoli",
        "zone": "geofence:3",
        "trigger": "enter",
        "rule": "one_per_offer_per_day",
    }
    assert explain(_note("enter", legacy), "en") == (
        "Sent because you entered Maison Rivoli (the zone “geofence:3”), this offer targets "
        "fashion, which you follow; rule: at most one push per offer per day, outside your "
        "quiet hours and within your daily limit."
    )

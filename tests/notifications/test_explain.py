"""The "why" sentence says what actually happened: "Sent because" only when it was sent."""

from __future__ import annotations

import pytest

from notifications.explain import explain
from notifications.models import Notification

REASON = {
    "segments": ["shoes"],
    "labels": {"shoes": {"en": "Shoes", "fr": "Chaussures"}},
    "store": "Maison Rivoli",
    "store_id": 1,
    "zone": "geofence:3",
    "zone_kind": "geofence",
    "zone_name": "Rivoli entrance",
    "trigger": "enter",
    "rule": "one_per_offer_per_day",
    "purpose": "location_offers",
}
EN_TAIL = (
    " because you entered Maison Rivoli (the area “Rivoli entrance”), this offer targets "
    "Shoes, which you follow, and you agreed to offers near you; rule: at most one push per "
    "offer per day, outside your quiet hours and within your daily limit."
)
FR_TAIL = (
    " parce que vous êtes entré·e chez Maison Rivoli (la zone « Rivoli entrance »), que cette "
    "offre vise Chaussures, que vous suivez, et que vous avez accepté les offres près de vous ; "
    "règle : au plus une notification par offre et par jour, hors de vos heures calmes et dans "
    "votre limite quotidienne."
)


@pytest.mark.parametrize(
    ("status", "suppressed", "en", "fr"),
    [
        ("sent", None, "Sent", "Envoyée"),
        ("partial", None, "Sent", "Envoyée"),
        (
            "pending",
            None,
            "Not sent yet: delivery is in progress. It was chosen",
            "Pas encore envoyée : l'envoi est en cours. Elle a été choisie",
        ),
        (
            "retrying",
            None,
            "Not sent yet: delivery is in progress. It was chosen",
            "Pas encore envoyée : l'envoi est en cours. Elle a été choisie",
        ),
        (
            "no_device",
            None,
            "Not sent: no device was registered to receive it. It was chosen",
            "Non envoyée : aucun appareil n'était enregistré pour la recevoir. Elle a été choisie",
        ),
        (
            "failed",
            None,
            "Not sent: delivery to your devices failed. It was chosen",
            "Non envoyée : l'envoi vers vos appareils a échoué. Elle a été choisie",
        ),
        (
            "suppressed",
            "quiet_hours",
            "Not sent: it came during your quiet hours. It was chosen",
            "Non envoyée : elle tombait pendant vos heures calmes. Elle a été choisie",
        ),
        (
            "suppressed",
            "daily_cap",
            "Not sent: your daily limit of notifications was reached. It was chosen",
            "Non envoyée : votre limite quotidienne de notifications était atteinte. "
            "Elle a été choisie",
        ),
    ],
)
def test_the_sentence_matches_the_status(
    status: str, suppressed: str | None, en: str, fr: str
) -> None:
    reason = {**REASON, **({"suppressed": suppressed} if suppressed else {})}
    note = Notification(zone="geofence:3", trigger="enter", reason=reason, status=status)
    assert explain(note, "en") == en + EN_TAIL
    assert explain(note, "fr-FR") == fr + FR_TAIL
    if status not in ("sent", "partial"):
        assert "Sent because" not in explain(note, "en")
        assert "Envoyée parce que" not in explain(note, "fr")


@pytest.mark.parametrize(
    ("decided_by", "en", "fr"),
    [
        (None, "offers matching your interests come before", "passent avant les looks"),
        ("kind", "offers matching your interests come before", "passent avant les looks"),
        ("priority", "a higher priority", "une priorité plus haute"),
        ("overlap", "matches more of your interests", "plus de vos centres d'intérêt"),
        ("id", "the earlier one goes first", "la plus ancienne passe en premier"),
    ],
)
def test_the_competition_clause_names_the_rule_that_decided(
    decided_by: str | None, en: str, fr: str
) -> None:
    reason = {
        **REASON,
        "competed": ["the offer “Scarves”"],
        **({"decided_by": decided_by} if decided_by else {}),
    }
    note = Notification(zone="geofence:3", trigger="enter", reason=reason, status="sent")
    assert "It was weighed against the offer “Scarves”; " in explain(note, "en")
    assert en in explain(note, "en")
    assert fr in explain(note, "fr")

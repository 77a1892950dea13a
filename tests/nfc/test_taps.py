"""Taps on real services: a tap on a store's tag is presence there, through the one
presence flow, and pushes the store's offer once; bad taps are 4xx and record nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from tests.factories import Shop, auth, new_shopper, open_shop, set_consent
from tests.fcm_standin import FcmStandIn
from tests.nfc.factories import COUNTER, COUNTER_HEX, ENTRANCE, new_tag, seconds_ago, tap, tap_body


def _shop(client: TestClient, sessions: sessionmaker[Session], name: str = "Chausseur") -> Shop:
    """A shop whose offer names no zones, so any of the store's zones fires it."""
    return open_shop(client, sessions, name=name, east_m=0.0, segments=["shoes"], title="Boots")


def _shopper(client: TestClient, settings: Settings, device: str = "phone-shoes") -> str:
    token = new_shopper(client, settings, consent=False, interests=["shoes"], device=device)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    return token


def _inbox(client: TestClient, token: str) -> list[str]:
    items = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    return [n["zone"] for n in items]


def test_a_tap_enters_the_store_and_pushes_its_offer_once(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    new_tag(client, shop.staff, shop.store_id, uid=ENTRANCE, placement="entrance")
    token = _shopper(client, settings)
    zone = f"nfc:{shop.store_id}:counter"

    body = tap(client, token, COUNTER, seconds_ago(5))
    assert body["accepted"] is True
    assert body["ignored"] is None
    assert body["store_id"] == shop.store_id
    assert body["placement"] == "counter"
    assert [(e["zone"], e["transition"], e["store_id"]) for e in body["events"]] == [
        (zone, "enter", shop.store_id)
    ]
    assert len(body["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.messages[0]["token"] == "phone-shoes"
    assert fcm_standin.messages[0]["data"]["offer_id"] == str(shop.offer_id)
    assert _inbox(client, token) == [zone]

    # Tapping again while inside changes nothing; another tag of the store enters its
    # zone, but the offer is pushed once a day.
    again = tap(client, token, COUNTER_HEX.lower(), seconds_ago(3))
    assert (again["accepted"], again["events"], again["notifications"]) == (True, [], [])
    other = tap(client, token, ENTRANCE, seconds_ago(1))
    assert [e["transition"] for e in other["events"]] == ["enter"]
    assert other["notifications"] == []
    assert fcm_standin.requests_count == 1
    assert _inbox(client, token) == [zone]


def test_a_tap_at_another_store_leaves_the_first(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    first, second = _shop(client, sessions, "A"), _shop(client, sessions, "B")
    new_tag(client, first.staff, first.store_id)
    new_tag(client, second.staff, second.store_id, uid=ENTRANCE)
    token = _shopper(client, settings)
    tap(client, token, COUNTER, seconds_ago(60))
    body = tap(client, token, ENTRANCE, seconds_ago(1))
    assert [(e["zone"], e["transition"]) for e in body["events"]] == [
        (f"nfc:{first.store_id}:counter", "exit"),
        (f"nfc:{second.store_id}:counter", "enter"),
    ]


def test_an_older_tap_than_one_counted_is_out_of_order(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)
    tap(client, token, COUNTER, seconds_ago(10))
    late = tap(client, token, COUNTER, seconds_ago(20))
    assert (late["accepted"], late["ignored"], late["events"]) == (False, "out_of_order", [])


def test_a_replayed_tap_is_409_and_records_nothing(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)
    at = seconds_ago(5)
    tap(client, token, COUNTER, at)
    fcm_standin.wait_for(1, timeout=10)
    # The same tap, even printed another way or dated in another zone, is a replay.
    for replay in (COUNTER, COUNTER_HEX):
        r = client.post("/v1/me/taps", json=tap_body(replay, at), headers=auth(token))
        assert r.status_code == 409, r.text
        assert r.json()["detail"] == "this tap was already reported"
    paris = at.astimezone(timezone(timedelta(hours=1)))
    r = client.post("/v1/me/taps", json=tap_body(COUNTER, paris), headers=auth(token))
    assert r.status_code == 409, r.text
    assert len(_inbox(client, token)) == 1
    assert fcm_standin.requests_count == 1


def test_unknown_deleted_and_other_stores_tags_are_404(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop, other = _shop(client, sessions, "A"), _shop(client, sessions, "B")
    tag = new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)

    r = client.post("/v1/me/taps", json=tap_body(ENTRANCE, seconds_ago(9)), headers=auth(token))
    assert (r.status_code, r.json()["detail"]) == (404, "unknown NFC tag 081A2B3C")
    # The phone read the tag's link naming another store: a cloned or moved tag.
    wrong = tap_body(COUNTER, seconds_ago(8), store_id=other.store_id)
    r = client.post("/v1/me/taps", json=wrong, headers=auth(token))
    assert r.status_code == 404, r.text
    assert client.delete(f"/v1/nfc-tags/{tag['id']}", headers=auth(shop.staff)).status_code == 204
    r = client.post("/v1/me/taps", json=tap_body(COUNTER, seconds_ago(7)), headers=auth(token))
    assert r.status_code == 404, r.text
    assert _inbox(client, token) == []
    assert fcm_standin.requests_count == 0

    # None of them was taken for a tap: the right store's tag, once back, counts.
    new_tag(client, shop.staff, shop.store_id)
    right = tap_body(COUNTER, seconds_ago(8), store_id=shop.store_id)
    r = client.post("/v1/me/taps", json=right, headers=auth(token))
    assert r.status_code == 200, r.text
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]


def test_without_beacon_consent_a_tap_is_answered_and_nothing_is_kept(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    token = new_shopper(client, settings, interests=["shoes"])  # location consent only
    at = seconds_ago(5)
    body = tap(client, token, COUNTER, at)
    assert (body["accepted"], body["ignored"], body["events"]) == (False, "no_consent", [])
    assert body["notifications"] == []
    # Not even a replay guard was kept: once consenting, the same tap counts.
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    body = tap(client, token, COUNTER, at)
    assert body["accepted"] is True
    assert [e["transition"] for e in body["events"]] == ["enter"]


@pytest.mark.parametrize(
    "tapped_at",
    [
        (datetime.now(UTC) + timedelta(hours=1)).isoformat(),  # clock far ahead
        (datetime.now(UTC) - timedelta(hours=2)).isoformat(),  # too late to count
        datetime.now(UTC).replace(tzinfo=None).isoformat(),  # no zone
        "yesterday",
        1_800_000_000,
        None,
    ],
    # Stable ids (not the times): pytest-xdist's workers must collect the same tests.
    ids=["ahead", "too_late", "naive", "words", "epoch", "null"],
)
def test_bad_tap_times_are_422_and_record_nothing(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    tapped_at: object,
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)
    body = {"uid": COUNTER, "tapped_at": tapped_at}
    r = client.post("/v1/me/taps", json=body, headers=auth(token))
    assert r.status_code == 422, r.text
    assert _inbox(client, token) == []
    # Nothing was marked either: a good tap right after enters.
    assert [e["transition"] for e in tap(client, token, COUNTER, seconds_ago(1))["events"]] == [
        "enter"
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "04A22B", "tapped_at": "2026-11-23T10:00:00Z"},
        {"tapped_at": "2026-11-23T10:00:00Z"},
        {"uid": COUNTER, "tapped_at": "2026-11-23T10:00:00Z", "rssi": -40},
        {"uid": COUNTER, "tapped_at": "2026-11-23T10:00:00Z", "store_id": 0},
    ],
)
def test_malformed_taps_are_422(
    client: TestClient, settings: Settings, body: dict[str, object]
) -> None:
    token = _shopper(client, settings)
    r = client.post("/v1/me/taps", json=body, headers=auth(token))
    assert r.status_code == 422, r.text


def test_staff_keys_do_not_tap(client: TestClient, sessions: sessionmaker[Session]) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    r = client.post("/v1/me/taps", json=tap_body(COUNTER, seconds_ago(1)), headers=auth(shop.staff))
    assert r.status_code == 403, r.text


def test_a_tap_presents_the_pushed_offers_code_once_and_only_its_owners(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop = _shop(client, sessions)
    new_tag(client, shop.staff, shop.store_id)
    token = _shopper(client, settings)
    tap(client, token, COUNTER, seconds_ago(30))  # the ENTER pushes the offer...
    [push] = fcm_standin.wait_for(1, timeout=10)
    code = push["data"]["redemption_code"]  # ...with its one-time code
    assert push["data"]["redemption_qr"] == f"VICINITY:REDEEM:{code}"
    assert push["data"]["buy_now"].endswith(f"code={code}")
    someone = _shopper(client, settings, device="phone-other")
    stolen = client.post(
        "/v1/me/taps", json=tap_body(COUNTER, seconds_ago(20), code=code), headers=auth(someone)
    )
    assert stolen.status_code == 404, stolen.text

    body = tap(client, token, COUNTER, seconds_ago(10), code=code.lower())
    assert body["redeemed"]["code"] == code
    assert body["redeemed"]["offer_id"] == shop.offer_id
    # Used: a second presentation is refused and the tap records nothing.
    again = client.post(
        "/v1/me/taps", json=tap_body(COUNTER, seconds_ago(5), code=code), headers=auth(token)
    )
    assert again.status_code == 409, again.text
    assert "already redeemed" in again.json()["detail"]
    codes = client.get("/v1/me/codes", headers=auth(token)).json()["items"]
    assert [(c["code"], c["used_at"] is not None) for c in codes] == [(code, True)]

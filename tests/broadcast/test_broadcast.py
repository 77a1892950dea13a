"""A store's flash offer reaches the consenting, matching users present near it now, under
the same rules as a visit, and reports its counts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.models import Event
from kernel.config import Settings
from tests.broadcast.world import be_there, flash, progress, shop
from tests.factories import auth, new_shopper, set_consent
from tests.fcm_standin import FcmStandIn


def _preferences(client: TestClient, token: str, **body: object) -> None:
    r = client.put("/v1/me/preferences", json=body, headers=auth(token))
    assert r.status_code == 200, r.text


def test_a_flash_offer_reaches_consenting_matching_users_present_nearby_only(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    store, staff, _ = shop(client, sessions, "Maison Flash", 0.0)
    shop(client, sessions, "Next door", 300.0)
    shop(client, sessions, "Far away", 3000.0)
    here = new_shopper(client, settings, interests=["fashion"], device="here")
    next_door = new_shopper(client, settings, interests=["fashion"], device="next-door")
    far = new_shopper(client, settings, interests=["fashion"], device="far")
    no_consent = new_shopper(client, settings, consent=False, interests=["fashion"], device="nc")
    sporty = new_shopper(client, settings, interests=["sport"], device="sporty")
    muting = new_shopper(client, settings, interests=["fashion"], device="muting")
    _preferences(client, muting, muted_store_ids=[store])
    for token, east in (
        (here, 0.0),
        (next_door, 300.0),
        (far, 3000.0),
        (no_consent, 5.0),
        (sporty, -5.0),
        (muting, 10.0),
    ):
        be_there(client, token, east)
    assert fcm_standin.requests_count == 0  # being there pushes nothing: no offer

    created = flash(client, staff, store)
    assert created["status"] == "queued"
    assert created["links"]["self"] == f"/v1/stores/{store}/broadcasts/{created['id']}"

    fcm_standin.wait_for(2, timeout=10)
    assert sorted(m["token"] for m in fcm_standin.messages) == ["here", "next-door"]
    assert {m["notification"]["title"] for m in fcm_standin.messages} == {
        "Flash: -30% for two hours"
    }
    done = progress(client, staff, store, created["id"])
    assert done["status"] == "done"
    assert done["finished_at"] is not None
    assert done["counts"] == {"targeted": 5, "sent": 2, "suppressed": 0, "skipped": 3}
    assert done["progress"] == {"chunks_total": 1, "chunks_done": 1}
    assert "user" not in str(done)  # counts only, nobody named

    inbox = client.get("/v1/me/notifications", headers=auth(next_door)).json()["items"]
    assert [n["reason"]["rule"] for n in inbox] == ["broadcast"]
    assert inbox[0]["reason"]["store"] == "Maison Flash"
    for token in (far, no_consent, sporty, muting):
        assert client.get("/v1/me/notifications", headers=auth(token)).json()["items"] == []

    offer = client.get(created["links"]["offer"], headers=auth(staff)).json()
    assert (offer["trigger"], offer["segments"]) == ("broadcast", ["fashion"])


def test_the_daily_cap_holds_a_flash_offer_back_and_consent_withdrawn_stops_it(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    first, first_staff, _ = shop(client, sessions, "First", 0.0)
    second, second_staff, _ = shop(client, sessions, "Second", 300.0)
    capped = new_shopper(client, settings, interests=["fashion"], device="capped")
    _preferences(client, capped, max_per_day=1)
    withdrawn = new_shopper(client, settings, interests=["fashion"], device="withdrawn")
    be_there(client, capped, 300.0)
    be_there(client, withdrawn, 300.0)

    flash(client, second_staff, second, radius_m=100)  # reaches the Second's fence only
    fcm_standin.wait_for(2, timeout=10)
    set_consent(client, settings, withdrawn, granted=False)

    created = flash(client, first_staff, first, title="Flash at First")
    done = progress(client, first_staff, first, created["id"])
    assert done["counts"] == {"targeted": 2, "sent": 0, "suppressed": 1, "skipped": 1}
    assert fcm_standin.requests_count == 2
    inbox = client.get("/v1/me/notifications", headers=auth(capped)).json()["items"]
    assert [(n["title"], n["status"]) for n in inbox] == [
        ("Flash at First", "suppressed"),
        ("Flash: -30% for two hours", "sent"),
    ]
    assert inbox[0]["reason"]["suppressed"] == "daily_cap"


def test_a_store_lists_its_broadcasts_newest_first(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    store, staff, _ = shop(client, sessions, "Lister", 0.0)
    ids = [flash(client, staff, store)["id"] for _ in range(3)]
    r = client.get(f"/v1/stores/{store}/broadcasts?limit=2", headers=auth(staff))
    page = r.json()
    assert [b["id"] for b in page["items"]] == ids[::-1][:2]
    assert all(b["status"] == "done" for b in page["items"])
    assert all(b["counts"]["targeted"] == 0 for b in page["items"])
    r = client.get(
        f"/v1/stores/{store}/broadcasts?limit=2&after={page['next_after']}", headers=auth(staff)
    )
    assert [b["id"] for b in r.json()["items"]] == [ids[0]]
    assert r.json()["next_after"] is None


def test_a_broadcast_logs_its_pushes_but_no_zone_event(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """A broadcast's trigger is no transition: logged as one, it would tell the
    broadcasting store's webhooks that the user is in another store's geofence."""
    store, staff, _ = shop(client, sessions, "Flash", 0.0)
    neighbour, _, _ = shop(client, sessions, "Next door", 300.0)
    be_there(client, new_shopper(client, settings, interests=["fashion"]), 300.0)
    flash(client, staff, store)
    with sessions() as session:
        logged = session.execute(select(Event.name, Event.store_id).order_by(Event.id)).all()
    assert [tuple(row) for row in logged] == [
        ("user.entered_geofence", neighbour),  # the fix, logged by the visit
        ("push.sent", store),
    ]

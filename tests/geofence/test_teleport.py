"""Impossible jumps through ``POST /v1/me/locations`` on PostgreSQL and Redis: a fix
1,000 km from the last one a minute later is ignored as ``teleport`` and enters nothing,
walking passes, and each event says how sure it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from notifications.models import Notification
from tests.factories import PARIS, auth, fix, new_shopper, offset, open_shop, walk_in


def _post(client: TestClient, token: str, *fixes: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/me/locations", json={"fixes": list(fixes)}, headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_thousand_km_in_a_minute_is_a_teleport_and_enters_nothing(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    here = open_shop(client, sessions, name="Ici", east_m=0.0, segments=["fashion"])
    there = open_shop(client, sessions, name="Là-bas", east_m=1_000_000.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    start = datetime.now(UTC) - timedelta(seconds=300)

    first = _post(client, token, fix(*here.center, start))
    assert [e["transition"] for e in first["events"]] == ["enter"]
    jump = _post(client, token, fix(*there.center, start + timedelta(seconds=60)))
    assert (jump["accepted"], jump["ignored"], jump["events"]) == (0, {"teleport": 1}, [])
    assert jump["notifications"] == []
    # The teleport moved nothing: a step from where the user really was is a walk, and
    # they are still in the first shop (no EXIT, no ENTER).
    stay = _post(client, token, fix(*offset(*here.center, 5.0, 0.0), start + timedelta(seconds=90)))
    assert (stay["accepted"], stay["ignored"], stay["events"]) == (1, {}, [])
    with sessions() as session:
        stores = session.scalars(select(Notification.store_id)).all()
    assert stores == [here.store_id]  # the far shop's offer never fired


def test_the_same_jump_within_one_batch_is_flagged_too(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Ici", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    start = datetime.now(UTC) - timedelta(seconds=120)
    far = offset(*PARIS, 1_000_000.0, 0.0)
    body = _post(
        client,
        token,
        fix(*far, start),  # nothing to compare with: taken as the first position
        fix(*shop.center, start + timedelta(seconds=60)),  # 1,000 km back in a minute
    )
    assert (body["accepted"], body["ignored"], body["events"]) == (1, {"teleport": 1}, [])


def test_walking_through_a_shop_is_never_a_teleport(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Ici", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    # 14 m every 10 s (5 km/h), from 60 m west of the shop through it and out.
    fixes = walk_in(offset(*shop.center, -60.0, 0.0), steps=10, step_m=14.0)
    body = _post(client, token, *fixes)
    assert (body["accepted"], body["ignored"]) == (10, {})
    assert [e["transition"] for e in body["events"]] == ["enter", "exit"]


def test_each_event_carries_its_confidence(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The 40 m square fence is a circle of 22.6 m: an 8 m fix is sure of it, a 15 m one
    fairly, a 60 m one barely."""
    shop = open_shop(client, sessions, name="Ici", east_m=0.0, segments=["fashion"])
    start = datetime.now(UTC) - timedelta(seconds=60)
    for accuracy_m, expected in ((8.0, "high"), (15.0, "medium"), (60.0, "low")):
        token = new_shopper(client, settings, interests=["fashion"], device=None)
        body = _post(client, token, fix(*shop.center, start, accuracy_m=accuracy_m))
        assert [(e["transition"], e["confidence"]) for e in body["events"]] == [("enter", expected)]

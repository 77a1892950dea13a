"""Segment activation on demand: on for a while, part of the profile, lapses by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from preferences.models import Activation
from tests.factories import auth, clock, new_shopper, open_shop, visit
from tests.fcm_standin import FcmStandIn


def _activate(client: TestClient, token: str, segment: str, until: Any) -> Any:
    return client.post(
        "/v1/me/activations", json={"segment": segment, "until": until}, headers=auth(token)
    )


def test_an_activated_segment_reaches_the_decision_until_it_lapses(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    times = clock()
    shops = [
        open_shop(client, sessions, name=f"Dishes {i}", east_m=500.0 * i, segments=["tableware"])
        for i in range(2)
    ]
    token = new_shopper(client, settings, interests=[])
    until = datetime.now(UTC) + timedelta(days=7)
    r = _activate(client, token, "tableware", until.isoformat())
    assert r.status_code == 201, r.text
    assert r.json()["segment"] == "tableware"
    assert r.json()["label_fr"] == "Arts de la table"
    listed = client.get("/v1/me/activations", headers=auth(token)).json()
    assert [a["segment"] for a in listed] == ["tableware"]

    notes = visit(client, token, shops[0], next(times))["notifications"]
    assert len(notes) == 1
    fcm_standin.wait_for(1, timeout=10)

    # The week is over.
    with unit_of_work(sessions) as session:
        session.execute(update(Activation).values(until=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.get("/v1/me/activations", headers=auth(token)).json() == []
    assert visit(client, token, shops[1], next(times))["notifications"] == []


def test_activating_a_parent_covers_its_children(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Cave", east_m=0.0, segments=["wine"])
    token = new_shopper(client, settings, interests=["sport"])
    until = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    assert _activate(client, token, "food", until).status_code == 201
    assert len(visit(client, token, shop, next(clock()))["notifications"]) == 1


def test_an_activation_can_be_ended_early(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Cave", east_m=0.0, segments=["wine"])
    token = new_shopper(client, settings, interests=[])
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    activation = _activate(client, token, "wine", until).json()
    other = new_shopper(client, settings, device="other-phone")
    path = f"/v1/me/activations/{activation['id']}"
    assert client.delete(path, headers=auth(other)).status_code == 404
    assert client.delete(path, headers=auth(token)).status_code == 204
    assert visit(client, token, shop, next(clock()))["notifications"] == []


@pytest.mark.parametrize(
    ("segment", "until", "needle"),
    [
        ("tableware", timedelta(minutes=-1), "in the past"),
        ("tableware", timedelta(days=31), "at most 30 days"),
        ("nonsense", timedelta(days=1), "unknown segment 'nonsense'"),
        ("tableware", "2030-01-01T10:00:00", "timezone"),
        ("tableware", "next tuesday", "until"),
    ],
)
def test_bad_activations_are_refused(
    client: TestClient,
    settings: Settings,
    segment: str,
    until: timedelta | str,
    needle: str,
) -> None:
    token = new_shopper(client, settings)
    when = (datetime.now(UTC) + until).isoformat() if isinstance(until, timedelta) else until
    r = _activate(client, token, segment, when)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]
    assert client.get("/v1/me/activations", headers=auth(token)).json() == []

"""Consent per purpose against a versioned policy; the ledger is append-only; withdrawal
and new versions apply to the very next event, in every process."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from preferences.models import ConsentRecord
from server.app import create_app
from tests.factories import api_key, auth, clock, new_shopper, open_shop, set_consent, visit
from tests.fcm_standin import FcmStandIn


def _publish(
    client: TestClient, key: str, version: str, changed: list[str]
) -> tuple[int, dict[str, Any]]:
    body = {
        "version": version,
        "summary": "What changed.",
        "text": "Full text.",
        "changed_purposes": changed,
    }
    r = client.post("/v1/policies", json=body, headers=auth(key))
    return r.status_code, r.json()


def _consent(client: TestClient, token: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/v1/me/consent", headers=auth(token)).json()
    return body


def _grant(client: TestClient, token: str, version: str, **purposes: bool) -> Any:
    body = {"purposes": purposes, "policy_version": version}
    return client.put("/v1/me/consent", json=body, headers=auth(token))


def test_the_configured_version_is_current_until_one_is_published(
    client: TestClient, settings: Settings, operator: str
) -> None:
    current = client.get("/v1/policies/current").json()
    assert current["version"] == settings.policy_version
    assert current["published_at"] is None
    assert client.get("/v1/policies").json() == []

    status, body = _publish(client, operator, "2027-01", ["location_offers"])
    assert status == 201, body
    current = client.get("/v1/policies/current").json()
    assert current["version"] == "2027-01"
    assert current["changed_purposes"] == ["location_offers"]
    assert current["published_at"] is not None
    assert [p["version"] for p in client.get("/v1/policies").json()] == ["2027-01"]


@pytest.mark.parametrize(
    ("version", "changed", "status", "needle"),
    [
        ("2027-01", ["mind_reading"], 422, "changed_purposes"),
        ("", [], 422, "version"),
        ("2027-01", ["location_offers"], 409, "already published"),
    ],
)
def test_bad_policy_versions_are_refused(
    client: TestClient, operator: str, version: str, changed: list[str], status: int, needle: str
) -> None:
    assert _publish(client, operator, "2027-01", [])[0] == 201
    got, body = _publish(client, operator, version, changed)
    assert got == status, body
    assert needle in body["detail"]


def test_only_the_operator_publishes(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shopper = new_shopper(client, settings)
    store_key = api_key(sessions, Role.TECH)
    assert _publish(client, shopper, "2027-01", [])[0] == 403
    assert _publish(client, store_key, "2027-01", [])[0] == 403


def test_a_new_version_needs_fresh_consent_for_the_purposes_it_changed_only(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    operator: str,
    fcm_standin: FcmStandIn,
) -> None:
    times = clock()
    shops = [
        open_shop(client, sessions, name=f"Shop {i}", east_m=500.0 * i, segments=["fashion"])
        for i in range(3)
    ]
    token = new_shopper(client, settings, interests=["fashion"])
    assert _grant(client, token, settings.policy_version, beacon_proximity=True).status_code == 200
    assert len(visit(client, token, shops[0], next(times))["notifications"]) == 1

    assert _publish(client, operator, "2027-01", ["location_offers"])[0] == 201
    state = {p["purpose"]: p for p in _consent(client, token)["purposes"]}
    assert _consent(client, token)["current_policy_version"] == "2027-01"
    assert state["location_offers"]["granted"] is True
    assert state["location_offers"]["in_force"] is False
    assert state["beacon_proximity"]["in_force"] is True  # not changed: still counts
    assert visit(client, token, shops[1], next(times))["notifications"] == []

    stale = _grant(client, token, settings.policy_version, location_offers=True)
    assert stale.status_code == 409
    assert "not the current one ('2027-01')" in stale.json()["detail"]
    assert _grant(client, token, "2027-01", location_offers=True).status_code == 200
    assert len(visit(client, token, shops[2], next(times))["notifications"]) == 1
    fcm_standin.wait_for(2, timeout=10)


def test_unknown_purposes_are_refused(client: TestClient, settings: Settings) -> None:
    token = new_shopper(client, settings, consent=False)
    r = _grant(client, token, settings.policy_version, mind_reading=True)
    assert r.status_code == 422
    assert "purposes" in r.json()["detail"]


def test_withdrawing_is_accepted_under_any_version(
    client: TestClient, settings: Settings, operator: str
) -> None:
    token = new_shopper(client, settings)
    assert _publish(client, operator, "2027-01", [])[0] == 201
    assert _grant(client, token, settings.policy_version, location_offers=False).status_code == 200
    state = {p["purpose"]: p for p in _consent(client, token)["purposes"]}
    assert state["location_offers"]["granted"] is False


# The ledger is append-only.


def test_the_api_exposes_no_way_to_change_or_remove_ledger_lines(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    methods = {m for path, ops in paths.items() if "consent" in path for m in ops}
    assert methods == {"get", "put"}  # PUT appends, as the next test shows


def test_consent_changes_only_ever_insert(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, operator: str
) -> None:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def spy(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if "consent_records" in statement:
            statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", spy)
    try:
        token = new_shopper(client, settings, consent=False)
        for granted in (True, False, True):
            set_consent(client, settings, token, granted=granted)
        set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
        _publish(client, operator, "2027-01", ["location_offers"])
        r = _grant(client, token, "2027-01", location_offers=False, friends_looks=True)
        assert r.status_code == 200
        _consent(client, token)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert set(statements) == {"INSERT", "SELECT"}
    with sessions() as session:
        rows = list(session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)))
    assert [(r.purpose, r.granted, r.policy_version) for r in rows] == [
        ("location_offers", True, "2026-11"),
        ("location_offers", False, "2026-11"),
        ("location_offers", True, "2026-11"),
        ("beacon_proximity", True, "2026-11"),
        ("location_offers", False, "2027-01"),
        ("friends_looks", True, "2027-01"),
    ]


def test_a_ledger_line_cannot_be_modified_through_the_orm(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    new_shopper(client, settings)
    with unit_of_work(sessions) as session:
        record = session.scalars(select(ConsentRecord)).one()
        record.granted = False
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
    with sessions() as session:
        assert session.scalar(select(func.count()).where(ConsentRecord.granted)) == 1


# Withdrawal reaches every process at once.


def test_withdrawal_in_one_process_stops_the_next_push_in_another(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    times = clock()
    shops = [
        open_shop(client, sessions, name=f"Shop {i}", east_m=500.0 * i, segments=["fashion"])
        for i in range(3)
    ]
    with TestClient(create_app(settings)) as other:
        token = new_shopper(client, settings, interests=["fashion"])
        assert len(visit(other, token, shops[0], next(times))["notifications"]) == 1

        set_consent(client, settings, token, granted=False)
        assert visit(other, token, shops[1], next(times))["notifications"] == []

        set_consent(other, settings, token, granted=True)
        assert len(visit(client, token, shops[2], next(times))["notifications"]) == 1
        fcm_standin.wait_for(2, timeout=10)
    assert fcm_standin.requests_count == 2

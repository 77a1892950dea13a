"""The audit log of API key use: every staff request recorded once answered, read by the
operator only, paged like every list, purged by the retention job."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from accounts.audit import KeyUse
from kernel.config import Settings, get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.principal import Role
from privacy.tasks import purge_expired
from server.app import create_app
from server.cli import app as cli
from server.migrate import upgrade
from tests.factories import api_key, auth, new_shopper, new_store


def uses(sessions: sessionmaker[Session]) -> list[KeyUse]:
    with sessions() as session:
        return list(session.scalars(select(KeyUse).order_by(KeyUse.id)))


def test_each_staff_request_is_recorded_with_its_outcome(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    other_id = new_store(client, operator, name="Other")
    staff = api_key(sessions, Role.STORE, [store_id])
    before = datetime.now(UTC)
    assert client.get(f"/v1/stores/{store_id}", headers=auth(staff)).status_code == 200
    assert client.get(f"/v1/stores/{other_id}", headers=auth(staff)).status_code == 404
    bad = client.post(f"/v1/stores/{store_id}/offers", json={}, headers=auth(staff))
    assert bad.status_code == 422

    rows = [u for u in uses(sessions) if u.role == "store"]
    assert [(u.method, u.route, u.path, u.status) for u in rows] == [
        ("GET", "/v1/stores/{store_id}", f"/v1/stores/{store_id}", 200),
        ("GET", "/v1/stores/{store_id}", f"/v1/stores/{other_id}", 404),
        ("POST", "/v1/stores/{store_id}/offers", f"/v1/stores/{store_id}/offers", 422),
    ]
    first = rows[0]
    assert first.store_ids == [store_id]
    assert first.client_ip == "testclient"
    assert before - timedelta(seconds=1) <= first.at <= datetime.now(UTC)
    # The operator's own calls are there too, with no store scope (every store).
    ops = [u for u in uses(sessions) if u.role == "operator"]
    assert [(u.method, u.route, u.status) for u in ops] == [("POST", "/v1/stores", 201)] * 2
    assert ops[0].store_ids is None


def test_only_staff_keys_are_recorded(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    token = new_shopper(client, settings)
    client.get("/v1/me/notifications", headers=auth(token))
    client.get("/v1/keys", headers=auth("vk_unknown"))  # 401: no key to name
    client.get("/v1/keys", headers=auth(token))  # 403: a user token on a staff route
    client.get("/v1/segments")
    assert uses(sessions) == []


def test_the_operator_reads_the_log_filtered_and_paged(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    tech = api_key(sessions, Role.TECH)
    for _ in range(3):
        client.get("/v1/beacons/visits", headers=auth(tech))
    tech_id = uses(sessions)[0].key_id

    first = client.get(f"/v1/audit?key_id={tech_id}&limit=2", headers=auth(operator))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["route"] for e in page["items"]] == ["/v1/beacons/visits"] * 2
    assert page["items"][0]["role"] == "tech"
    assert page["items"][0]["store_ids"] is None  # a fleet-wide tech key
    assert set(page["items"][0]) == {
        "id", "key_id", "role", "store_ids", "method", "route", "path", "status", "at",
        "client_ip",
    }  # fmt: skip
    rest = client.get(
        f"/v1/audit?key_id={tech_id}&limit=2&after={page['next_after']}", headers=auth(operator)
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_after"] is None
    # Unfiltered, the operator's own reads of the log are in it.
    everything = client.get("/v1/audit", headers=auth(operator)).json()["items"]
    assert [e["key_id"] for e in everything].count(tech_id) == 3
    assert any(e["route"] == "/v1/audit" for e in everything)


def test_only_the_operator_reads_the_log(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    for key in (api_key(sessions, Role.STORE, [store_id]), api_key(sessions, Role.TECH)):
        r = client.get("/v1/audit", headers=auth(key))
        assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = client.get("/v1/audit", headers=auth(new_shopper(client, settings)))
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = client.get("/v1/audit")
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    for query in ("key_id=0", "key_id=x", "limit=201", "after=-1"):
        r = client.get(f"/v1/audit?{query}", headers=auth(operator))
        assert (r.status_code, r.json()["error"]) == (422, "invalid"), query


def test_the_retention_job_purges_old_entries(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    for _ in range(2):
        client.get("/v1/keys", headers=auth(operator))
    old = datetime.now(UTC) - timedelta(days=settings.audit_retention_days + 1)
    with unit_of_work(sessions) as session:
        session.execute(update(KeyUse).where(KeyUse.id == 1).values(at=old))

    assert purge_expired()["key_uses"] == 1
    assert [u.id for u in uses(sessions)] == [2]


def test_a_failed_write_is_logged_in_full_not_lost_silently(
    client: TestClient,
    sessions: sessionmaker[Session],
    clean_db: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    # The database refuses the log's rows (and only them): the request itself succeeds.
    with clean_db.begin() as conn:
        conn.execute(text("ALTER TABLE key_uses ADD CONSTRAINT refuse CHECK (false) NOT VALID"))
    try:
        with caplog.at_level(logging.ERROR, logger="server.audit"):
            r = client.get("/v1/keys", headers=auth(operator))
    finally:
        with clean_db.begin() as conn:
            conn.execute(text("ALTER TABLE key_uses DROP CONSTRAINT refuse"))
    assert r.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "server.audit"]
    assert "audit entry not written" in record.getMessage()
    assert "'path': '/v1/keys'" in record.getMessage()
    assert "'status': 200" in record.getMessage()
    assert uses(sessions) == []
    metrics = client.get("/metrics").text
    assert "vicinity_audit_write_failures_total" in metrics


def test_the_migration_creates_the_log_on_both_databases(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0022")
    columns = {c["name"] for c in inspect(fresh_engine).get_columns("key_uses")}
    assert columns == {
        "id", "key_id", "role", "store_ids", "method", "route", "path", "status", "at",
        "client_ip",
    }  # fmt: skip
    indexes = {i["name"] for i in inspect(fresh_engine).get_indexes("key_uses")}
    assert indexes == {"ix_key_uses_key_id_id", "ix_key_uses_at"}


def test_the_embedded_server_records_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    engine = make_engine(Settings(database_url=url, var_dir=tmp_path))
    upgrade(engine)
    sessions = make_session_factory(engine)
    operator = api_key(sessions, Role.OPERATOR)
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        assert client.get("/v1/keys", headers=auth(operator)).status_code == 200
        page = client.get("/v1/audit", headers=auth(operator)).json()
    assert [e["route"] for e in page["items"]] == ["/v1/keys"]
    engine.dispose()


def test_the_cli_prints_a_keys_last_uses(
    client: TestClient,
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    for path in ("/v1/keys", "/v1/stores", "/v1/audit"):
        client.get(path, headers=auth(operator))
    key_id = uses(sessions)[0].key_id
    monkeypatch.setenv("VICINITY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        last_two = CliRunner().invoke(cli, ["keys", "audit", str(key_id), "--last", "2"])
        unknown = CliRunner().invoke(cli, ["keys", "audit", "999"])
    finally:
        get_settings.cache_clear()
    assert last_two.exit_code == 0, last_two.output
    assert "GET /v1/keys" not in last_two.output
    assert last_two.output.index("GET /v1/stores") < last_two.output.index("GET /v1/audit")
    assert "testclient" in last_two.output
    assert (unknown.exit_code, unknown.output.strip()) == (2, "error: no API key 999")

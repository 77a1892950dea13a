"""Oversized input is refused early (413 or 422), and errors never echo the value."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, feature, fix, new_shopper, new_store, square


@pytest.fixture
def store(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    return store_id, api_key(sessions, Role.STORE, [store_id])


def test_a_50_mb_body_is_refused_unread(client: TestClient, settings: Settings) -> None:
    token = new_shopper(client, settings)
    body = b'{"fixes": [' + b" " * (50 * 1024 * 1024) + b"]}"
    started = time.perf_counter()
    r = client.post(
        "/v1/me/locations",
        content=body,
        headers={**auth(token), "Content-Type": "application/json"},
    )
    elapsed = time.perf_counter() - started
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"
    assert str(settings.max_body_bytes) in r.json()["detail"]
    # Loose: parsing 50 MB took seconds; refusing on Content-Length takes milliseconds.
    assert elapsed < 2.0
    assert client.get("/health").status_code == 200


def test_a_streamed_body_without_length_is_counted(client: TestClient, settings: Settings) -> None:
    token = new_shopper(client, settings)

    def chunks() -> Iterator[bytes]:
        yield b'{"fixes": ['
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536
        yield b"]}"

    r = client.post(
        "/v1/me/locations",
        content=chunks(),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"


def test_too_many_fixes_is_413_before_any_fix_is_checked(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings)
    # Items that would each be a 422 if they were validated: the count is refused first.
    bad = {"lat": 999, "lon": 999, "accuracy_m": -1, "recorded_at": "x"}
    r = client.post(
        "/v1/me/locations",
        json={"fixes": [bad] * (settings.max_batch + 1)},
        headers=auth(token),
    )
    assert r.status_code == 413, r.text
    assert r.json() == {
        "error": "too_large",
        "detail": f"{settings.max_batch + 1} fixes in one batch; the maximum is "
        f"{settings.max_batch}",
    }


def test_a_huge_interest_name_is_refused_without_echo(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings)
    huge = "x" * 500_000
    r = client.put("/v1/me/interests", json={"segments": [huge]}, headers=auth(token))
    assert r.status_code == 422, r.text
    assert huge[:100] not in r.text
    assert len(r.content) < 2000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/stores", {"name": "x" * 201}),
        ("/v1/stores/{store}/offers", {"title": "x" * 121, "body": "b", "segments": ["food"]}),
        ("/v1/stores/{store}/offers", {"title": "t", "body": "b", "segments": ["x" * 65]}),
        ("/v1/stores/{store}/geofences", feature(square(*PARIS, 40.0), name="x" * 201)),
    ],
)
def test_every_string_is_capped(
    client: TestClient,
    sessions: sessionmaker[Session],
    store: tuple[int, str],
    path: str,
    body: dict[str, Any],
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post(path.format(store=store[0]), json=body, headers=auth(operator))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert "x" * 65 not in r.text


@pytest.mark.parametrize("bad", ["Shop\x00", "Sh\x07op", "Shop\x85", "two\nlines"])
def test_control_characters_are_refused(
    client: TestClient,
    sessions: sessionmaker[Session],
    store: tuple[int, str],
    bad: str,
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post("/v1/stores", json={"name": bad}, headers=auth(operator))
    assert r.status_code == 422, r.text
    assert "control characters" in r.json()["detail"]
    r = client.post(
        f"/v1/stores/{store[0]}/geofences",
        json=feature(square(*PARIS, 40.0), name=bad),
        headers=auth(store[1]),
    )
    assert r.status_code == 422, r.text
    r = client.post(
        f"/v1/stores/{store[0]}/offers",
        json={"title": "t", "body": bad, "segments": ["fashion"]},
        headers=auth(store[1]),
    )
    assert r.status_code == 422, r.text
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM stores")) == 1
        assert session.scalar(text("SELECT count(*) FROM offers")) == 0


@pytest.mark.parametrize(
    ("link", "status"),
    [
        ("javascript:alert(1)", 422),
        ("JavaScript:alert(1)", 422),
        ("data:text/html,<script>", 422),
        ("file:///etc/passwd", 422),
        ("http://example.com/", 422),
        ("https://example.com/boots", 201),
        ("vicinity://offers/boots", 201),
    ],
)
def test_deep_links_use_allowed_schemes_only(
    client: TestClient, store: tuple[int, str], link: str, status: int
) -> None:
    body = {"title": "t", "body": "b", "segments": ["fashion"], "deep_link": link}
    r = client.post(f"/v1/stores/{store[0]}/offers", json=body, headers=auth(store[1]))
    assert r.status_code == status, r.text
    if status == 422:
        assert "deep_link" in r.json()["detail"]
        assert "https, vicinity" in r.json()["detail"]


def test_a_fix_batch_within_limits_still_works(client: TestClient, settings: Settings) -> None:
    token = new_shopper(client, settings)
    now = datetime.now(UTC)
    fixes = [fix(*PARIS, now - timedelta(seconds=i)) for i in range(settings.max_batch)]
    r = client.post("/v1/me/locations", json={"fixes": fixes}, headers=auth(token))
    assert r.status_code == 200, r.text


def test_too_many_sightings_is_413_before_any_is_parsed(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings)
    bad = {"ibeacon": {"uuid": "not-a-uuid"}, "rssi": 999, "recorded_at": "x"}
    r = client.post(
        "/v1/me/sightings",
        json={"sightings": [bad] * (settings.max_batch + 1)},
        headers=auth(token),
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"


def test_beacon_zone_names_refuse_control_characters(
    client: TestClient, sessions: sessionmaker[Session], store: tuple[int, str]
) -> None:
    tech = api_key(sessions, Role.TECH, [store[0]])
    body = {
        "store_id": store[0],
        "zone": "shoe\x00aisle",
        "lon": PARIS[0],
        "lat": PARIS[1],
        "measured_power_1m": -59,
        "ibeacon": {"uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 1},
    }
    r = client.post("/v1/beacons", json=body, headers=auth(tech))
    assert r.status_code == 422, r.text
    assert "control characters" in r.json()["detail"]


def test_a_quoted_value_is_not_echoed_in_full(client: TestClient, store: tuple[int, str]) -> None:
    huge = "Z" * 200_000
    body = {"type": huge, "geometry": square(*PARIS, 40.0), "properties": {"name": "x"}}
    r = client.post(f"/v1/stores/{store[0]}/geofences", json=body, headers=auth(store[1]))
    assert r.status_code == 422, r.text
    assert len(r.content) < 2000

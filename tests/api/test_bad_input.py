"""Bad input gets a clear 4xx naming the problem, and nothing is half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, feature, fix, new_shopper, new_store, square

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[2.34, 48.86], [2.35, 48.87], [2.35, 48.86], [2.34, 48.87], [2.34, 48.86]]],
}


@pytest.fixture
def store(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    return store_id, api_key(sessions, Role.STORE, [store_id])


def _fences(client: TestClient, store: tuple[int, str]) -> list[Any]:
    r = client.get(f"/v1/stores/{store[0]}/geofences", headers=auth(store[1]))
    return list(r.json()["features"])


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (feature(BOWTIE), 422, "Self-intersection"),
        (
            feature({"type": "Point", "coordinates": [2.35, 200.0]}, radius_m=50),
            422,
            "latitude 200",
        ),
        (feature({"type": "Point", "coordinates": [48.86, 120.0]}, radius_m=50), 422, "swapped"),
        (feature({"type": "Point", "coordinates": [2.35, 48.86]}), 422, "radius_m"),
        (
            feature({"type": "Point", "coordinates": [2.35, 48.86]}, radius_m=50_000),
            422,
            "radius_m",
        ),
        (
            feature({"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8]]]}),
            422,
            "coordinates",
        ),
        (feature(square(*PARIS, 10_000.0)), 422, "km²"),
        (
            feature({"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.8]]}),
            422,
            "geometry",
        ),
        ({"type": "Feature", "geometry": None, "properties": {"name": "x"}}, 422, "geometry"),
        ({"type": "FeatureCollection", "features": []}, 422, "type"),
    ],
)
def test_bad_geofences_are_refused_and_nothing_is_stored(
    client: TestClient, store: tuple[int, str], body: dict[str, Any], status: int, needle: str
) -> None:
    r = client.post(f"/v1/stores/{store[0]}/geofences", json=body, headers=auth(store[1]))
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"], r.json()
    assert _fences(client, store) == []


def test_a_bad_redraw_keeps_the_old_shape(client: TestClient, store: tuple[int, str]) -> None:
    good = client.post(
        f"/v1/stores/{store[0]}/geofences",
        json=feature(square(*PARIS, 40.0)),
        headers=auth(store[1]),
    ).json()
    r = client.put(f"/v1/geofences/{good['id']}", json=feature(BOWTIE), headers=auth(store[1]))
    assert r.status_code == 422
    assert _fences(client, store)[0]["geometry"] == good["geometry"]


def test_malformed_json_is_named(client: TestClient, store: tuple[int, str]) -> None:
    r = client.post(
        f"/v1/stores/{store[0]}/geofences",
        content=b'{"type": "Feature",',
        headers={**auth(store[1]), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("body is not valid JSON: ")
    assert r.json()["error"] == "invalid"


def test_unknown_segment_in_offer_and_interests(
    client: TestClient, store: tuple[int, str], settings: Settings
) -> None:
    r = client.post(
        f"/v1/stores/{store[0]}/offers",
        json={"title": "t", "body": "b", "segments": ["astrology"]},
        headers=auth(store[1]),
    )
    assert r.status_code == 422
    assert "unknown segment 'astrology'" in r.json()["detail"]
    assert client.get(f"/v1/stores/{store[0]}/offers", headers=auth(store[1])).json()["items"] == []

    token = new_shopper(client, settings, interests=["fashion"])
    r = client.put(
        "/v1/me/interests", json={"segments": ["sport", "astrology"]}, headers=auth(token)
    )
    assert r.status_code == 422
    kept = client.get("/v1/me/interests", headers=auth(token)).json()["segments"]
    assert kept == ["fashion"]


def test_offer_window_must_be_ordered(client: TestClient, store: tuple[int, str]) -> None:
    now = datetime.now(UTC)
    r = client.post(
        f"/v1/stores/{store[0]}/offers",
        json={
            "title": "t",
            "body": "b",
            "segments": ["fashion"],
            "starts_at": now.isoformat(),
            "ends_at": (now - timedelta(hours=1)).isoformat(),
        },
        headers=auth(store[1]),
    )
    assert r.status_code == 422
    assert "ends_at" in r.json()["detail"]


def test_location_batches(client: TestClient, settings: Settings) -> None:
    token = new_shopper(client, settings)
    now = datetime.now(UTC)

    def post(fixes: list[dict[str, Any]]) -> Any:
        return client.post("/v1/me/locations", json={"fixes": fixes}, headers=auth(token))

    r = post([])
    assert r.status_code == 422
    assert "fixes" in r.json()["detail"]

    r = post([{"lat": 200.0, "lon": 2.35, "accuracy_m": 5, "recorded_at": now.isoformat()}])
    assert r.status_code == 422
    assert "lat" in r.json()["detail"]

    r = post([{"lat": 48.86, "lon": 2.35, "accuracy_m": 5, "recorded_at": "2026-11-23T10:00:00"}])
    assert r.status_code == 422
    assert "time zone" in r.json()["detail"]

    r = post([fix(*PARIS, now + timedelta(hours=2))])
    assert r.status_code == 422
    assert "future" in r.json()["detail"]

    r = post([fix(*PARIS, now - timedelta(seconds=i)) for i in range(settings.max_batch + 1)])
    assert r.status_code == 413
    assert str(settings.max_batch) in r.json()["detail"]


def test_replayed_and_poor_fixes_are_ignored_not_errors(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings)
    now = datetime.now(UTC)
    first = fix(*PARIS, now - timedelta(seconds=30))
    r = client.post("/v1/me/locations", json={"fixes": [first]}, headers=auth(token))
    assert r.json()["accepted"] == 1
    batch = [
        first,
        fix(*PARIS, now - timedelta(seconds=60)),
        fix(*PARIS, now - timedelta(seconds=10), accuracy_m=900),
        fix(*PARIS, now - timedelta(hours=1)),
    ]
    r = client.post("/v1/me/locations", json={"fixes": batch}, headers=auth(token))
    assert r.status_code == 200
    assert r.json()["accepted"] == 0
    assert r.json()["ignored"] == {"out_of_order": 3, "poor_accuracy": 1}


def test_consent_needs_the_current_policy_and_known_purposes(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings, consent=False)
    r = client.put(
        "/v1/me/consent",
        json={"purposes": {"location_offers": True}, "policy_version": "1999-01"},
        headers=auth(token),
    )
    assert r.status_code == 409
    assert "policy version" in r.json()["detail"]
    r = client.put(
        "/v1/me/consent",
        json={"purposes": {"mind_reading": True}, "policy_version": settings.policy_version},
        headers=auth(token),
    )
    assert r.status_code == 422
    state = client.get("/v1/me/consent", headers=auth(token)).json()
    assert not any(p["granted"] for p in state["purposes"])


def test_unknown_ids_are_404(client: TestClient, store: tuple[int, str]) -> None:
    assert client.get("/v1/geofences/999", headers=auth(store[1])).status_code == 404
    assert client.get("/v1/offers/999", headers=auth(store[1])).status_code == 404
    r = client.post(
        "/v1/stores/999/geofences", json=feature(square(*PARIS, 40.0)), headers=auth(store[1])
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/geofences/11181013274164109917552640",
        "/v1/offers/-3",
        "/v1/stores?after=313306316713616211968",
        "/v1/stores/27959568555848114176",
    ],
)
def test_absurd_ids_are_422_not_500(client: TestClient, store: tuple[int, str], path: str) -> None:
    r = client.get(path, headers=auth(store[1]))
    assert r.status_code == 422, r.text


def test_nul_bytes_in_text_are_422_not_500(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post("/v1/stores", json={"name": "Bad\u0000name"}, headers=auth(operator))
    assert r.status_code == 422, r.text
    assert client.get("/v1/stores", headers=auth(operator)).json()["items"] == []

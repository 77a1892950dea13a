"""The demo world, as ``vicinity serve --demo`` seeds it, in the embedded default (SQLite,
no Redis, outbox pushes): the printed walk into the demo store pushes its offer and Ann's
look, the store lists nearby with Ann's look, and seeding again duplicates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from catalogue.models import Item
from demo.seed import FRIEND, ITEMS, DemoAccess, demo_access, seed_stores
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from looks.models import Look
from preferences.segments import seed_taxonomy
from rewards.models import RewardRule
from server.app import create_app
from server.migrate import upgrade
from social.models import Friendship, Profile


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/v.db", redis_url=None, var_dir=tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    yield settings, make_session_factory(engine)
    engine.dispose()


def _seed(settings: Settings, sessions: sessionmaker[Session]) -> DemoAccess:
    """What ``_prepare`` does for ``serve --demo``."""
    with unit_of_work(sessions) as session:
        seed_taxonomy(session)
        seed_stores(session)
        return demo_access(session, policy_version=settings.policy_version)


def _walk_in(client: TestClient, access: DemoAccess) -> dict[str, Any]:
    lat, lon = access.inside
    fix = {"lat": lat, "lon": lon, "accuracy_m": 10, "recorded_at": datetime.now(UTC).isoformat()}
    r = client.post(
        "/v1/me/locations",
        json={"fixes": [fix]},
        headers={"Authorization": f"Bearer {access.user_token}"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _outbox(client: TestClient, access: DemoAccess) -> list[dict[str, Any]]:
    r = client.get("/v1/outbox", headers={"Authorization": f"Bearer {access.operator_key}"})
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


def _counts(session: Session) -> tuple[int, ...]:
    tables = (Item, Look, RewardRule, Profile)
    return tuple(int(session.scalar(select(func.count()).select_from(t)) or 0) for t in tables)


def test_the_printed_walk_pushes_the_offer_and_anns_look(
    embedded: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = embedded
    access = _seed(settings, sessions)
    assert (access.friend, access.items) == (FRIEND, len(ITEMS))
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["push"] == "outbox"
        report = _walk_in(client, access)
        assert [e["transition"] for e in report["events"]] == ["enter"]
        assert len(report["notifications"]) == 2
        pushes = {m["collapse_key"]: m for m in _outbox(client, access)}
        [look_key, offer_key] = sorted(pushes)
        assert look_key == f"look-{access.look_id}"
        assert offer_key.startswith("store-")
        look = pushes[f"look-{access.look_id}"]
        assert look["title"] == "A look by Ann"
        assert look["data"]["look_id"] == str(access.look_id)

        lat, lon = access.inside
        r = client.get(
            "/v1/me/nearby",
            params={"lat": lat, "lon": lon, "radius_m": 200},
            headers={"Authorization": f"Bearer {access.user_token}"},
        )
        assert r.status_code == 200, r.text
        here = r.json()[0]
        assert (here["store_id"], here["distance_m"], here["friends_favouring"]) == (
            access.store_id,
            0,
            1,
        )
        assert [x["look_id"] for x in here["friends_looks"]] == [access.look_id]
        assert here["friends_looks"][0]["author"]["display_name"] == "Ann"


def test_seeding_again_duplicates_nothing_and_the_new_shopper_sees_the_look(
    embedded: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = embedded
    first = _seed(settings, sessions)
    with sessions() as session:
        before = _counts(session)
    second = _seed(settings, sessions)
    with sessions() as session:
        items, looks, rules, profiles = _counts(session)
        assert (items, looks, rules) == before[:3]
        assert profiles == before[3] + 1  # the new shopper's, not a second Ann
        friendships = int(session.scalar(select(func.count()).select_from(Friendship)) or 0)
        assert friendships == 4  # Ann with each shopper, both ways
    assert second.look_id == first.look_id
    assert second.user_token != first.user_token
    with TestClient(create_app(settings)) as client:
        assert len(_walk_in(client, second)["notifications"]) == 2
        keys = sorted(m["collapse_key"] for m in _outbox(client, second))
        assert keys[0] == f"look-{second.look_id}"
        assert keys[1].startswith("store-")

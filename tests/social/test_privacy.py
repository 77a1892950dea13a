"""Social data in the export and erasure: a user's own rows, friends as names only, the
blocks they made (never those made against them); erasure removes both directions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from privacy.service import purge
from social import repository
from social.models import Block, FavouriteStore, FriendInvite, Friendship, Profile
from social.service import INVITE_RETENTION
from tests.factories import api_key, new_store
from tests.social.factories import befriend, friend_ids, invite, person


def _export(client: TestClient, token: str) -> dict[str, Any]:
    r = client.get("/v1/me/export", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    tables: dict[str, Any] = r.json()["tables"]
    return tables


def test_export_holds_my_social_rows_and_nothing_of_my_friends_but_names(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    ann = person(client, "Ann", "https://cdn.example.org/ann.jpg")
    bob = person(client, "Bob", "https://cdn.example.org/bob-secret-avatar.jpg")
    carl, dora = person(client, "Carl"), person(client, "Dora")
    befriend(client, bob, ann)
    made = invite(client, ann)
    store = new_store(client, api_key(sessions, Role.OPERATOR), "Fromagerie")
    assert client.put(f"/v1/me/favourites/{store}", headers=ann.headers).status_code == 200
    assert client.post("/v1/me/blocks", json={"user_id": carl.id}, headers=ann.headers)
    assert client.post("/v1/me/blocks", json={"user_id": ann.id}, headers=dora.headers)

    tables = _export(client, ann.token)
    (profile,) = tables["profiles"]
    assert (profile["display_name"], profile["avatar_url"]) == (
        "Ann",
        "https://cdn.example.org/ann.jpg",
    )
    (invite_row,) = tables["friend_invites"]
    assert invite_row["id"] == made["id"]
    assert "code_hash" not in invite_row
    assert [set(f) for f in tables["friendships"]] == [{"friend_id", "display_name", "since"}]
    assert [(f["friend_id"], f["display_name"]) for f in tables["friendships"]] == [(bob.id, "Bob")]
    # Ann's own blocks only: Dora's block of Ann stays Dora's.
    assert [b["blocked_id"] for b in tables["blocks"]] == [carl.id]
    assert [f["store_id"] for f in tables["favourite_stores"]] == [store]
    text = json.dumps(tables)
    assert "bob-secret-avatar" not in text
    assert made["code"] not in text


def test_erasure_removes_every_row_naming_the_user_both_ways(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    ann, bob, carl, dora = (person(client, n) for n in ("Ann", "Bob", "Carl", "Dora"))
    befriend(client, ann, bob)
    befriend(client, carl, ann)
    befriend(client, bob, carl)
    invite(client, ann)
    store = new_store(client, api_key(sessions, Role.OPERATOR), "Fromagerie")
    for who in (ann, bob):
        assert client.put(f"/v1/me/favourites/{store}", headers=who.headers).status_code == 200
    client.post("/v1/me/blocks", json={"user_id": dora.id}, headers=ann.headers)
    client.post("/v1/me/blocks", json={"user_id": ann.id}, headers=dora.headers)

    assert client.delete("/v1/me", headers=ann.headers).status_code == 204

    with sessions() as session:
        for model, columns in (
            (Profile, [Profile.user_id]),
            (FriendInvite, [FriendInvite.inviter_id]),
            (Friendship, [Friendship.user_id, Friendship.friend_id]),
            (Block, [Block.blocker_id, Block.blocked_id]),
            (FavouriteStore, [FavouriteStore.user_id]),
        ):
            for column in columns:
                count = session.scalar(
                    select(func.count()).select_from(model).where(column == ann.id)
                )
                assert count == 0, (model, column)
        assert repository.friends_favouring(session, bob.id, [store]) == {store: 0}
    # Everyone else keeps what is theirs.
    assert friend_ids(client, bob) == [carl.id]
    assert friend_ids(client, carl) == [bob.id]
    assert _export(client, bob.token)["favourite_stores"][0]["store_id"] == store


def test_dead_invites_are_purged_a_week_past_expiry(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    ann = person(client, "Ann")
    invite(client, ann)
    now = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        assert purge(session, now=now, settings=settings)["friend_invites"] == 0
        later = now + timedelta(hours=72) + INVITE_RETENTION + timedelta(minutes=1)
        assert purge(session, now=later, settings=settings)["friend_invites"] == 1
    assert client.get("/v1/me/friends/invites", headers=ann.headers).json() == []


def test_the_repository_reads_others_build_on(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    ann, bob, carl = (person(client, n) for n in ("Ann", "Bob", "Carl"))
    befriend(client, ann, bob)
    befriend(client, carl, ann)
    with sessions() as session:
        assert repository.friend_ids(session, ann.id) == {bob.id, carl.id}
        assert repository.friend_ids(session, bob.id) == {ann.id}
        assert repository.display_names(session, [ann.id, bob.id, 999_999]) == {
            ann.id: "Ann",
            bob.id: "Bob",
        }
        assert repository.display_names(session, []) == {}

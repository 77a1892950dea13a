"""People with a profile, made through the API, and helpers for the friends endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work
from social.models import FriendInvite
from tests.factories import auth


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def new_user(client: TestClient) -> tuple[int, str]:
    r = client.post("/v1/users", json={"locale": "en", "timezone": "Europe/Paris"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), str(r.json()["token"])


def person(client: TestClient, name: str, avatar_url: str | None = None) -> Person:
    """A user who set their display name (and avatar, if given)."""
    user_id, token = new_user(client)
    r = client.put(
        "/v1/me/profile",
        json={"display_name": name, "avatar_url": avatar_url},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    return Person(user_id, token, name)


def invite(client: TestClient, who: Person) -> dict[str, Any]:
    r = client.post("/v1/me/friends/invites", headers=who.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def accept(client: TestClient, who: Person, code: str) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/me/friends/accept", json={"code": code}, headers=who.headers
    )
    return response


def befriend(client: TestClient, a: Person, b: Person) -> None:
    r = accept(client, b, invite(client, a)["code"])
    assert r.status_code == 201, r.text


def friend_ids(client: TestClient, who: Person) -> list[int]:
    r = client.get("/v1/me/friends", headers=who.headers)
    assert r.status_code == 200, r.text
    return [f["user_id"] for f in r.json()["items"]]


def expire_invites(sessions: sessionmaker[Session], inviter: Person) -> None:
    """Time passes: every invite of ``inviter`` ran out an hour ago."""
    with unit_of_work(sessions) as session:
        session.execute(
            update(FriendInvite)
            .where(FriendInvite.inviter_id == inviter.id)
            .values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )

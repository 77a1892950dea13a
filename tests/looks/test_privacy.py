"""A user's looks, tags and opens in their export; erasure removes them and their image
files, and leaves others' opens of them without a trace of the erased user."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from looks.models import Look, LookOpen, LookTag
from tests.looks.conftest import World
from tests.looks.factories import jpeg_with_gps
from tests.looks.test_api import post_look
from tests.looks.test_upload import stored, upload


def export(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get("/v1/me/export", headers=headers)
    assert r.status_code == 200, r.text
    tables: dict[str, Any] = r.json()["tables"]
    return tables


def test_export_and_erase(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, world: World
) -> None:
    ann_look = post_look(client, world.ann, caption="mine", tags=[{"item_id": world.stan}])
    upload(client, ann_look["id"], jpeg_with_gps(), world.ann.auth)
    bob_look = post_look(client, world.bob, caption="bob's")
    client.post(f"/v1/me/looks/{bob_look['id']}/opened", headers=world.ann.auth)
    client.post(f"/v1/me/looks/{ann_look['id']}/opened", headers=world.bob.auth)

    tables = export(client, world.ann.auth)
    [exported] = tables["looks"]
    assert exported["id"] == ann_look["id"]
    assert exported["caption"] == "mine"
    assert exported["tags"] == [{"id": 1, "item_id": world.stan, "brand_id": None}]
    assert [(o["look_id"], o["creator_id"]) for o in tables["look_opens"]] == [
        (bob_look["id"], world.bob.id)
    ]
    assert "look_tags" not in tables  # exported within looks

    assert client.delete("/v1/me", headers=world.ann.auth).status_code == 204
    assert stored(settings) == []
    with unit_of_work(sessions) as session:
        assert session.scalars(select(Look.user_id)).all() == [world.bob.id]
        assert session.scalars(select(LookTag)).all() == []
        [left] = session.scalars(select(LookOpen)).all()
        # Bob's open of Ann's look stays Bob's, pointing at nobody.
        assert (left.user_id, left.look_id, left.creator_id) == (world.bob.id, None, None)
    assert client.get(f"/v1/looks/{bob_look['id']}", headers=world.bob.auth).status_code == 200

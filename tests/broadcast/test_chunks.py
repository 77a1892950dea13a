"""The fan-out splits the audience into chunks, one task each; counts and progress add up
chunk by chunk, and a chunk or fan-out run twice sends and counts nothing more."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import staff_for_key
from broadcast import service, tasks
from broadcast.models import Broadcast
from broadcast.schemas import BroadcastCreate
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.models import Notification
from server.app import create_app
from server.runtime import Runtime
from tests.broadcast.world import be_there, flash, progress, shop
from tests.factories import new_shopper
from tests.fcm_standin import FcmStandIn

CHUNK = 2


@pytest.fixture
def chunked(settings: Settings) -> Iterator[TestClient]:
    """The app with chunks of two users."""
    small = settings.model_copy(update={"broadcast_chunk_size": CHUNK})
    with TestClient(create_app(small)) as test_client:
        yield test_client


def _shoppers(client: TestClient, settings: Settings, n: int) -> None:
    for i in range(n):
        token = new_shopper(client, settings, interests=["fashion"], device=f"phone-{i}")
        be_there(client, token, float(i))


def _members(sessions: sessionmaker[Session], offer_id: int, zone: str) -> list[list[object]]:
    """The first chunk as the fan-out made it: the lowest user ids, with their zone."""
    with sessions() as session:
        ids = session.scalars(
            select(Notification.user_id)
            .where(Notification.offer_id == offer_id)
            .order_by(Notification.user_id)
            .limit(CHUNK)
        )
        return [[uid, zone] for uid in ids]


def test_chunks_add_up_and_a_chunk_or_fan_out_run_again_changes_nothing(
    chunked: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    store, staff, fence = shop(chunked, sessions, "Flash", 0.0)
    _shoppers(chunked, settings, 5)

    created = flash(chunked, staff, store)
    fcm_standin.wait_for(5, timeout=10)
    done = progress(chunked, staff, store, created["id"])
    assert done["status"] == "done"
    assert done["progress"] == {"chunks_total": 3, "chunks_done": 3}
    assert done["counts"] == {"targeted": 5, "sent": 5, "suppressed": 0, "skipped": 0}

    # A redelivered chunk task and a redelivered fan-out: no push, no count.
    first = _members(sessions, created["offer_id"], f"geofence:{fence}")
    assert tasks.decide.apply(args=(created["id"], 0, first)).get() is False
    assert tasks.fan_out.apply(args=(created["id"],)).get() == 0
    assert progress(chunked, staff, store, created["id"]) == done
    assert fcm_standin.requests_count == 5
    assert sorted(m["token"] for m in fcm_standin.messages) == [f"phone-{i}" for i in range(5)]


def test_progress_shows_while_chunks_run_and_the_last_one_finishes(
    chunked: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    store, staff, _ = shop(chunked, sessions, "Flash", 0.0)
    _shoppers(chunked, settings, 3)
    rt: Runtime = chunked.app.state.runtime  # type: ignore[attr-defined]
    data = BroadcastCreate.model_validate(
        {"title": "Flash", "body": "Now.", "segments": ["fashion"], "radius_m": 200}
    )
    queued: list[int] = []
    with unit_of_work(rt.sessions) as session:
        caller = staff_for_key(session, staff)
        row = service.create_broadcast(
            session, staff=caller, store_id=store, data=data, now=datetime.now(UTC),
            enqueue=queued.append,
        )  # fmt: skip
    assert queued == [row.id]
    assert progress(chunked, staff, store, row.id)["status"] == "queued"

    with unit_of_work(rt.sessions) as session:
        parts = service.start(
            session,
            broadcast_id=row.id,
            index=rt.index,
            presence=rt.presence,
            now=time.time(),
            chunk_size=CHUNK,
        )
    assert [len(p) for p in parts] == [2, 1]
    running = progress(chunked, staff, store, row.id)
    assert (running["status"], running["finished_at"]) == ("running", None)
    assert running["progress"] == {"chunks_total": 2, "chunks_done": 0}
    assert running["counts"]["targeted"] == 3

    payloads = [[[m.user_id, m.zone] for m in part] for part in parts]
    assert tasks.decide.apply(args=(row.id, 1, payloads[1])).get() is True
    halfway = progress(chunked, staff, store, row.id)
    assert halfway["status"] == "running"
    assert halfway["progress"] == {"chunks_total": 2, "chunks_done": 1}
    assert halfway["counts"] == {"targeted": 3, "sent": 1, "suppressed": 0, "skipped": 0}

    assert tasks.decide.apply(args=(row.id, 0, payloads[0])).get() is True
    done = progress(chunked, staff, store, row.id)
    assert done["status"] == "done"
    assert done["finished_at"] is not None
    assert done["counts"] == {"targeted": 3, "sent": 3, "suppressed": 0, "skipped": 0}


def test_a_chunk_that_cannot_be_decided_fails_the_broadcast(
    chunked: TestClient, sessions: sessionmaker[Session]
) -> None:
    store, staff, _ = shop(chunked, sessions, "Flash", 0.0)
    created = flash(chunked, staff, store)  # nobody there: done at once
    assert progress(chunked, staff, store, created["id"])["status"] == "done"
    # As if someone had been there: one chunk to decide, on a zone no source ever names.
    with unit_of_work(sessions) as session:
        session.execute(update(Broadcast).values(status="running", targeted=1, chunks_total=1))
    with pytest.raises(ValueError, match="not a zone key"):
        tasks.decide.apply(args=(created["id"], 0, [[1, "nowhere"]])).get()
    failed = progress(chunked, staff, store, created["id"])
    assert (failed["status"], failed["progress"]["chunks_done"]) == ("failed", 0)
    assert failed["finished_at"] is not None

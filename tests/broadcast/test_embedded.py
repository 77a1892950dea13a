"""A broadcast on the embedded default: SQLite, presence in memory, tasks in process,
pushes to the local outbox."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from preferences.segments import seed_taxonomy
from server.app import create_app
from server.migrate import upgrade
from tests.broadcast.world import be_there, flash, progress, shop
from tests.factories import new_shopper


def test_a_broadcast_runs_embedded(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/v.db",
        redis_url=None,
        var_dir=tmp_path,
        broadcast_chunk_size=1,
    )
    engine = make_engine(settings)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        seed_taxonomy(session)
    with TestClient(create_app(settings)) as client:
        store, staff, _ = shop(client, sessions, "Flash", 0.0)
        for device, interests in (("fan", ["fashion"]), ("runner", ["sport"])):
            be_there(client, new_shopper(client, settings, interests=interests, device=device), 0)
        created = flash(client, staff, store)
        done = progress(client, staff, store, created["id"])
    engine.dispose()
    assert done["status"] == "done"
    assert done["progress"] == {"chunks_total": 2, "chunks_done": 2}
    assert done["counts"] == {"targeted": 2, "sent": 1, "suppressed": 0, "skipped": 1}
    lines = settings.outbox_path.read_text().splitlines()
    assert [json.loads(line)["token"] for line in lines] == ["fan"]

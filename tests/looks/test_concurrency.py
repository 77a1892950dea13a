"""Two uploads to the same look at once, on PostgreSQL: the second waits for the first
(the look is locked while it changes), replaces its image, and no file is left behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from kernel.db import unit_of_work
from looks import service
from looks.images import LocalImageStore
from looks.models import Look
from looks.schemas import LookCreate
from tests.looks.factories import image_bytes, jpeg_with_gps, person


def _wait_for_a_lock_wait(engine: Engine, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query):
                return
        time.sleep(0.02)
    raise AssertionError("the second upload never waited for the first")


def test_concurrent_uploads_leave_exactly_one_file(
    sessions: sessionmaker[Session], clean_db: Engine, tmp_path: Path
) -> None:
    ann = person(sessions, "Ann")
    images = LocalImageStore(tmp_path / "images")
    with unit_of_work(sessions) as session:
        user = session.get(User, ann.id)
        assert user is not None
        look_id = service.create_look(session, user=user, data=LookCreate()).id

    def upload(data: bytes, hold: threading.Event | None) -> None:
        with unit_of_work(sessions) as session:
            user = session.get(User, ann.id)
            assert user is not None
            service.set_image(
                session,
                user=user,
                look_id=look_id,
                upload=data,
                images=images,
                max_bytes=1_000_000,
                max_pixels=1_000_000,
            )
            if hold is not None:
                assert hold.wait(10)

    release = threading.Event()
    first = threading.Thread(target=upload, args=(jpeg_with_gps(), release))
    first.start()
    deadline = time.monotonic() + 10
    while not list((tmp_path / "images").glob("*.jpg")):  # the first holds the look
        assert first.is_alive()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second = threading.Thread(target=upload, args=(image_bytes("PNG"), None))
    second.start()
    _wait_for_a_lock_wait(clean_db)
    release.set()
    first.join(10)
    second.join(10)
    assert not first.is_alive()
    assert not second.is_alive()

    with unit_of_work(sessions) as session:
        look = session.get(Look, look_id)
        assert look is not None
        assert look.image_key is not None
        assert look.image_key.endswith(".png")
    assert [p.name for p in (tmp_path / "images").iterdir()] == [look.image_key]

"""Looks' personal data: a user's looks (with their tags and image files) and the looks
they opened. Opens by others of the user's looks are the others' data: erasing the user
deletes the looks, and the database sets ``look_id`` and ``creator_id`` of those opens to
NULL (ON DELETE SET NULL), so nothing left points at the erased user."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.db import after_commit
from kernel.personal_data import Row, as_row, delete_rows, register
from looks.models import Look, LookOpen
from looks.tasks import process_image_store


def _export_looks(session: Session, user_id: int) -> list[Row]:
    looks = session.scalars(select(Look).where(Look.user_id == user_id).order_by(Look.id))
    return [
        {**as_row(look), "tags": [as_row(t, exclude=frozenset({"look_id"})) for t in look.tags]}
        for look in looks
    ]


def _erase_looks(session: Session, user_id: int) -> int:
    keys = [
        key
        for key in session.scalars(select(Look.image_key).where(Look.user_id == user_id))
        if key is not None
    ]
    if keys:

        def remove_files() -> None:
            store = process_image_store()
            for key in keys:
                store.delete(key)

        after_commit(session, remove_files)
    return delete_rows(session, delete(Look).where(Look.user_id == user_id))


def _export_opens(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(LookOpen).where(LookOpen.user_id == user_id).order_by(LookOpen.id)
    )
    return [as_row(o) for o in rows]


def _erase_opens(session: Session, user_id: int) -> int:
    return delete_rows(session, delete(LookOpen).where(LookOpen.user_id == user_id))


register("looks", export=_export_looks, erase=_erase_looks)
register("look_tags", within="looks")
register("look_opens", export=_export_opens, erase=_erase_opens)

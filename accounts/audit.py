"""The audit log of API key use: every request a staff key (``vk_…``) authenticated.

One row per request: the key, its role and store scope at the time, the method, the route
template and the path as called, the status answered, when (UTC) and from which client
address. Written by the app after the response (``server/audit.py``), read by the operator
(``GET /v1/audit``, ``vicinity keys audit``), purged after ``VICINITY_AUDIT_RETENTION_DAYS``
by the retention job (``privacy.purge``). It is about staff keys, not app users: nothing
for a user's export or erasure, so it is not in the personal-data registry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.config import Settings
from kernel.db import Base, UTCDateTime
from kernel.pagination import keyset
from kernel.personal_data import delete_rows
from kernel.principal import Role, Staff

MAX_PATH = 2000


class KeyUse(Base):
    __tablename__ = "key_uses"
    __table_args__ = (Index("ix_key_uses_key_id_id", "key_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: keys are revoked, never deleted, and the log must outlive any row.
    key_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    # The key's stores when it acted; null = every store (operator, all-stores tech key).
    store_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    route: Mapped[str | None] = mapped_column(String(300), nullable=True)
    path: Mapped[str] = mapped_column(String(MAX_PATH))
    status: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class KeyUseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: int
    role: Role
    store_ids: list[int] | None = Field(description="The key's stores; null = every store.")
    method: str
    route: str | None = Field(description="The route's template, e.g. /v1/offers/{offer_id}.")
    path: str = Field(description="The path as called.")
    status: int
    at: datetime
    client_ip: str | None


def key_use(
    staff: Staff,
    *,
    method: str,
    route: str | None,
    path: str,
    status: int,
    at: datetime,
    client_ip: str | None,
) -> KeyUse:
    """The row for one request of ``staff`` (not added to any session)."""
    scope = staff.scope
    return KeyUse(
        key_id=staff.key_id,
        role=staff.role.value,
        store_ids=None if scope is None else sorted(scope),
        method=method[:16],
        route=None if route is None else route[:300],
        path=path[:MAX_PATH],
        status=status,
        at=at,
        client_ip=client_ip,
    )


def list_uses(
    session: Session, *, key_id: int | None, after: int, limit: int, newest_first: bool = False
) -> list[KeyUse]:
    """Oldest first, like every list (the API), or newest first (the CLI's last uses); one
    key's uses when ``key_id`` is given."""
    query = select(KeyUse)
    if key_id is not None:
        query = query.where(KeyUse.key_id == key_id)
    page = keyset(query, KeyUse.id, after=after, limit=limit, newest_first=newest_first)
    return list(session.scalars(page))


def purge_uses(session: Session, *, now: datetime, settings: Settings) -> int:
    """Forget uses older than the retention period (run by the retention job)."""
    cutoff = now - timedelta(days=settings.audit_retention_days)
    return delete_rows(session, delete(KeyUse).where(KeyUse.at < cutoff))

"""Database engine, sessions and the column types shared by every domain.

PostGIS is the reference schema. The embedded default runs on a SQLite file whose
sqlite3 cannot load SpatiaLite, so geometry columns fall back to plain WKB there
and spatial questions are answered by the in-memory index, not by SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import shapely
from geoalchemy2 import Geometry, WKBElement
from shapely.geometry.base import BaseGeometry
from sqlalchemy import DateTime, Dialect, LargeBinary, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kernel.config import Settings

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _SQLiteWKB(TypeDecorator[Any]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return bytes(value.data) if isinstance(value, WKBElement) else shapely.to_wkb(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        return None if value is None else WKBElement(value, srid=4326)


class ShapeType(TypeDecorator[BaseGeometry]):
    """A lon/lat (EPSG:4326) geometry, read and written as a Shapely object."""

    impl = Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect is not None and dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteWKB())
        if dialect is None:  # GeoAlchemy2 asks without a dialect to spot spatial columns
            return self.impl
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return WKBElement(shapely.to_wkb(value), srid=4326, extended=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        data = value.data if isinstance(value, WKBElement) else value
        if isinstance(data, str):
            return shapely.from_wkb(bytes.fromhex(data))
        return shapely.from_wkb(bytes(data))


class Base(DeclarativeBase):
    pass


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # The API caps its thread pool to ``db_pool_size`` (server.app) and a hot-path request
    # holds one connection in one thread, so the hot path never waits for a connection nor
    # opens an overflow one. The overflow is for requests that keep their session across
    # several thread-pool hops (sync dependencies) and background listeners.
    size = settings.db_pool_size
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size)


SessionFactory = Callable[[], Session]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


AfterCommit = Callable[[], None]
_T = TypeVar("_T")


class Transact:
    """Runs ``work(session)`` in a unit of work off the event loop, for async callers:
    the app gives one (a worker thread and a pooled connection) to services that decide
    from the loop whether they need the database at all."""

    def __init__(
        self, run: Callable[[Callable[[], Any]], Awaitable[Any]], factory: SessionFactory
    ) -> None:
        self._run, self._factory = run, factory

    def __call__(self, work: Callable[[Session], _T]) -> Awaitable[_T]:
        def transaction() -> _T:
            with unit_of_work(self._factory) as session:
                return work(session)

        return self._run(transaction)


def after_commit(session: Session, action: AfterCommit) -> None:
    """Run ``action`` once the session's transaction commits; dropped on rollback.

    Jobs are enqueued this way so a worker never sees a row that is not committed yet.
    """
    session.info.setdefault("after_commit", []).append(action)


def after_rollback(session: Session, action: AfterCommit) -> None:
    """Run ``action`` if the session's transaction rolls back: undo a mark made outside it."""
    session.info.setdefault("after_rollback", []).append(action)


def hold_until_closed(session: Session, context: AbstractContextManager[Any]) -> None:
    """Enter ``context`` now and leave it when the transaction ends, committed or not.

    A user's presence lock is held this way, so the presence written after commit is
    computed from what no concurrent request could change in between.
    """
    stack: ExitStack = session.info.setdefault("on_close", ExitStack())
    stack.enter_context(context)


@contextmanager
def unit_of_work(factory: SessionFactory) -> Iterator[Session]:
    """The one place that commits: services flush, this commits, then runs queued actions."""
    session = factory()
    try:
        yield session
        session.commit()
        session.info.pop("after_rollback", None)
        # Still inside the transaction's holds (e.g. the presence lock): actions that
        # write state derived from it run before the holds are released.
        _run_after_commit(session.info.pop("after_commit", []))
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        for undo in session.info.pop("after_rollback", []):
            undo()
        raise
    finally:
        held: ExitStack | None = session.info.pop("on_close", None)
        if held is not None:
            held.close()
        session.close()


def _run_after_commit(actions: list[AfterCommit]) -> None:
    """Run every action, each even when an earlier one failed, and raise none of them.

    The rows are committed: failing the request now would answer an error for work that
    was done (and the client's retry could not redo it). What an action leaves undone is
    recovered by its own safety net (e.g. the notification sweeper re-enqueues pushes),
    so a failure is logged, not raised.
    """
    for action in actions:
        try:
            action()
        except Exception:
            log.exception("after-commit action %r failed", action)

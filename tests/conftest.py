"""Test fixtures on real services: PostgreSQL/PostGIS, Redis, and the FCM HTTP stand-in.

``make test`` creates a throwaway database and picks a Redis db, and passes them in
``VICINITY_TEST_DATABASE_URL`` and ``VICINITY_TEST_REDIS_URL``. Each test starts from
empty tables (the seeded taxonomy kept) and an empty Redis db.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from notifications import rules as offer_rules
from preferences.segments import seed_taxonomy
from server.app import create_app
from server.migrate import upgrade
from server.models import Base
from tests.e2e.servers import RedisServer
from tests.fcm_standin import FcmStandIn

KEEP = {"segments", "spatial_ref_sys", "alembic_version"}


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite with `make test`", returncode=2)
    return value


# Under pytest-xdist (`make test` runs two workers), each worker has a database and a
# redis-server of its own: tests truncate tables and flush Redis, and Redis pub/sub
# channels (the index sync) are server-wide, not per database number.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
# The CLIs print with rich, which wraps at the terminal's width: a worker process has no
# terminal (80 columns), so the width is fixed here for every process alike.
os.environ["COLUMNS"] = "200"
# The suite signs up and reports from one address at test speed: rate limits are off
# unless a test turns them on (tests/server/test_rate_limits.py); servers it starts inherit.
os.environ.setdefault("VICINITY_RATE_LIMITS", "false")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = make_url(_required("VICINITY_TEST_DATABASE_URL"))
    if WORKER is None:
        yield url.render_as_string(False)
        return
    name = f"{url.database}_{WORKER}"
    admin = create_engine(url.render_as_string(False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    own = url.set(database=name).render_as_string(False)
    engine = create_engine(own, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION postgis"))
    engine.dispose()
    yield own
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if WORKER is None:
        yield _required("VICINITY_TEST_REDIS_URL")
        return
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def _fcm_standin_server() -> Iterator[FcmStandIn]:
    with FcmStandIn() as standin:
        yield standin


@pytest.fixture
def fcm_standin(_fcm_standin_server: FcmStandIn) -> FcmStandIn:
    """The session's FCM stand-in, emptied and without programmed failures."""
    _fcm_standin_server.reset()
    return _fcm_standin_server


@pytest.fixture(scope="session")
def migrated_engine(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    settings = Settings(database_url=database_url, var_dir=tmp_path_factory.mktemp("var"))
    engine = make_engine(settings)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_taxonomy(session)
    yield engine
    engine.dispose()


def truncate(engine: Engine) -> None:
    """Empty every table but the seeded taxonomy, and restart their ids.

    Only the tables a test wrote to are emptied (one query finds them), children first,
    with DELETE and setval rather than TRUNCATE and ALTER SEQUENCE: a test's tables hold a
    few rows, and TRUNCATE gives each table, index and sequence a new file and scans the
    buffer pool for each dropped one, which cost 0.1 s per test on an idle machine and 0.5
    to 1.2 s on a busy one (DELETE: 2 to 15 ms). DELETE also takes no exclusive lock, so a
    connection a previous test left reading cannot stall it; one left holding rows fails
    here, named, after ``lock_timeout``.
    """
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP]
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
        written = set(conn.execute(text(probe)).scalars())
        try:
            for table in reversed(tables):
                if table in written:
                    conn.execute(text(f"DELETE FROM {table}"))
        except OperationalError as error:
            raise RuntimeError(
                f"a previous test left a transaction open: {_open(engine)}"
            ) from error
        sequences = {f"{t}_id_seq" for t in tables}
        used = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE last_value IS NOT NULL")
        ).scalars()
        restart = [f"setval('{name}', 1, false)" for name in sorted(sequences.intersection(used))]
        if restart:
            conn.execute(text(f"SELECT {', '.join(restart)}"))
    # The version counters restart with the tables: a process-wide copy checked against
    # them would pass for current with the last test's rows.
    offer_rules.cache.clear()


def _open(engine: Engine) -> list[tuple[str, str]]:
    """The other connections to the test database inside a transaction, and their last
    statement: what a previous test forgot to end."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT state, left(query, 200) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        )
        return [(str(state), str(query)) for state, query in rows]


@pytest.fixture
def clean_db(migrated_engine: Engine) -> Engine:
    truncate(migrated_engine)
    return migrated_engine


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    clean_db: Engine,  # noqa: ARG001 - requested for its clean tables
    redis_client: redis.Redis,  # noqa: ARG001 - requested for its flushed db
    fcm_standin: FcmStandIn,
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        var_dir=tmp_path,
        fcm_url=fcm_standin.url,
        fcm_project_id="vicinity-test",
        celery_eager=True,
        fcm_http_retries=0,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def sessions(clean_db: Engine) -> sessionmaker[Session]:
    return make_session_factory(clean_db)


@pytest.fixture(params=["sqlite", "postgis"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind (migrations must run on both)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/m.db"
        engine = make_engine(Settings(database_url=url, var_dir=tmp_path))
        yield engine
        engine.dispose()
        return
    test_url = make_url(request.getfixturevalue("database_url"))
    name = f"{test_url.database}_migrations"
    admin = make_engine(Settings(database_url=test_url.render_as_string(False), var_dir=tmp_path))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = test_url.set(database=name).render_as_string(False)
    engine = make_engine(Settings(database_url=url, var_dir=tmp_path))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()

"""Schema migrations (Alembic), run programmatically: ``vicinity migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine

from kernel.config import Settings
from kernel.errors import DomainError

MIGRATIONS = Path(__file__).parent / "migrations"
HINT = "run `vicinity migrate` (or `make run` in the project folder)"


class SchemaNotReady(DomainError):
    """The database is missing or not at the schema this code needs."""

    status_code = 503
    code = "unavailable"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations recreate a table on SQLite: with foreign keys enforced,
            # dropping the old table deletes every row pointing at it (ON DELETE CASCADE).
            # The pragma only takes effect outside a transaction, hence before begin().
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                config = alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def sqlite_file(database_url: str) -> Path | None:
    """The file a SQLite URL names (None for another database or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def missing_database(settings: Settings) -> str | None:
    """Why the configured SQLite file cannot be used as is; checked before connecting,
    since connecting would create an empty file."""
    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        return f"no database at {path.resolve()}: {HINT}"
    return None


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or behind the code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        at = "no schema" if current is None else f"schema {current}"
        raise SchemaNotReady(f"the database {where} has {at}, this version needs {head}: {HINT}")


def autogenerate(engine: Engine, message: str) -> None:
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True, rev_id=None)

"""``vicinity keys …`` and the setup rough edges: one-line errors, the database's place."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from accounts.service import staff_for_key
from kernel.config import get_settings
from kernel.errors import Unauthorized
from kernel.principal import Role
from server.cli import app
from tests.factories import api_key

WIDE = {"COLUMNS": "200"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


@pytest.fixture
def on_test_db(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    sessions: sessionmaker[Session],  # noqa: ARG001 - requested for its clean tables
    tmp_path: Path,
) -> Iterator[None]:
    """The CLI configured, as an operator's shell would be, for the test database."""
    monkeypatch.setenv("VICINITY_DATABASE_URL", database_url)
    monkeypatch.setenv("VICINITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def in_var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Only VICINITY_VAR_DIR set: the embedded database lives there."""
    var = tmp_path / "elsewhere"
    monkeypatch.delenv("VICINITY_DATABASE_URL", raising=False)
    monkeypatch.setenv("VICINITY_VAR_DIR", str(var))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield var
    get_settings.cache_clear()


def _secret(result: Result) -> str:
    return next(w for w in result.output.split() if w.startswith("vk_"))


@pytest.mark.usefixtures("on_test_db")
def test_a_domain_error_is_one_red_line_and_exit_2() -> None:
    result = invoke("keys", "create", "--role", "tech", "--name", "Ana", "--store", "999")
    assert result.exit_code == 2
    assert result.output.strip() == "error: no store with id 999"
    assert "Traceback" not in result.output

    result = invoke("keys", "create", "--role", "tech", "--name", "Ana")
    assert result.exit_code == 2
    assert result.output.startswith("error: a tech key needs an explicit scope")
    assert len(result.output.strip().splitlines()) == 1

    result = invoke("keys", "revoke", "999")
    assert (result.exit_code, result.output.strip()) == (2, "error: no API key 999")


@pytest.mark.usefixtures("on_test_db")
def test_keys_are_listed_rotated_and_revoked(sessions: sessionmaker[Session]) -> None:
    api_key(sessions, Role.OPERATOR)
    created = invoke("keys", "create", "--role", "tech", "--name", "Ana", "--all-stores")
    assert created.exit_code == 0, created.output
    assert "key 2 (tech, all stores) for Ana" in created.output
    old = _secret(created)

    listed = invoke("keys", "list")
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if "Ana" in line]
    assert "tech" in row
    assert "all stores" in row
    assert "active" in row
    assert old not in listed.output

    rotated = invoke("keys", "rotate", "2")
    assert rotated.exit_code == 0, rotated.output
    new = _secret(rotated)
    with sessions() as session:
        assert staff_for_key(session, new).key_id == 2
        with pytest.raises(Unauthorized):
            staff_for_key(session, old)

    revoked = invoke("keys", "revoke", "2")
    assert revoked.exit_code == 0, revoked.output
    with sessions() as session, pytest.raises(Unauthorized):
        staff_for_key(session, new)
    [row] = [line for line in invoke("keys", "list").output.splitlines() if "Ana" in line]
    assert "revoked" in row


def test_var_dir_holds_the_database_and_a_missing_one_is_not_created(in_var_dir: Path) -> None:
    listed = invoke("keys", "list")
    assert listed.exit_code == 2
    assert listed.output.startswith(f"error: no database at {in_var_dir / 'vicinity.db'}")
    assert "vicinity migrate" in listed.output
    assert not (in_var_dir / "vicinity.db").exists()
    assert not Path("var").exists()  # nothing created in the working directory either

    migrated = invoke("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert (in_var_dir / "vicinity.db").is_file()
    created = invoke("keys", "create", "--role", "operator", "--name", "Ops")
    assert created.exit_code == 0, created.output


def test_an_unmigrated_database_is_refused_with_a_hint(in_var_dir: Path) -> None:
    in_var_dir.mkdir()
    sqlite3.connect(in_var_dir / "vicinity.db").close()  # an empty file, no schema
    result = invoke("keys", "create", "--role", "operator", "--name", "Ops")
    assert result.exit_code == 2
    assert "has no schema, this version needs" in result.output
    assert "run `vicinity migrate`" in result.output
    served = invoke("serve", "--port", "1")
    assert served.exit_code == 2
    assert "run `vicinity migrate`" in served.output

"""`vicinity geofences import|export FILE --store ID`, on PostgreSQL and on the embedded
SQLite: the same checks and idempotence as the API, a table of bad features and exit
status 2 when anything is refused, nothing half-imported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from geofence.models import Geofence
from kernel.config import Settings, get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.principal import Role, Staff
from server.cli import app
from server.migrate import upgrade
from stores.service import create_store
from tests.factories import PARIS, offset, square

OPERATOR = Staff(key_id=0, role=Role.OPERATOR, store_ids=frozenset())
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[2.34, 48.86], [2.35, 48.87], [2.35, 48.86], [2.34, 48.87], [2.34, 48.86]]],
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(params=["postgis", "sqlite"])
def db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[sessionmaker[Session]]:
    """The CLI configured, as an operator's shell would be, for a migrated database."""
    if request.param == "postgis":
        url = request.getfixturevalue("database_url")
        sessions: sessionmaker[Session] = request.getfixturevalue("sessions")
        engine = None
    else:
        url = f"sqlite:///{tmp_path}/v.db"
        engine = make_engine(Settings(database_url=url, var_dir=tmp_path))
        upgrade(engine)
        sessions = make_session_factory(engine)
    monkeypatch.setenv("VICINITY_DATABASE_URL", url)
    monkeypatch.setenv("VICINITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield sessions
    get_settings.cache_clear()
    if engine is not None:
        engine.dispose()


@pytest.fixture
def store_id(db: sessionmaker[Session]) -> int:
    with unit_of_work(db) as session:
        store = create_store(session, staff=OPERATOR, name="Rivoli", address=None, location=PARIS)
        return store.id


def _file(tmp_path: Path, *features: Any, name: str = "in.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def fence(external_id: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    properties = {"external_id": external_id, "name": external_id.title(), **props}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _three() -> list[dict[str, Any]]:
    circle = {"type": "Point", "coordinates": list(offset(*PARIS, 100.0, 0.0))}
    return [
        fence("door", square(*PARIS, 40.0), tags=["entrance"], metadata={"floor": 0}),
        fence("street", circle, radius_m=60, dwell_s=30),
        fence("back", square(*offset(*PARIS, -80.0, 0.0), 20.0)),
    ]


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Geofence)) or 0)


def test_import_twice_then_export_and_import_back_changes_nothing(
    db: sessionmaker[Session], store_id: int, tmp_path: Path
) -> None:
    source = _file(tmp_path, *_three())
    result = invoke("geofences", "import", str(source), "--store", str(store_id))
    assert result.exit_code == 0, result.output
    assert f"store {store_id}: 3 created, 0 updated, 0 unchanged" in result.output
    result = invoke("geofences", "import", str(source), "--store", str(store_id))
    assert "0 created, 0 updated, 3 unchanged" in result.output

    exported = tmp_path / "out.geojson"
    result = invoke("geofences", "export", str(exported), "--store", str(store_id))
    assert result.exit_code == 0, result.output
    assert "3 geofences" in result.output
    data = json.loads(exported.read_text())
    by_id = {f["properties"]["external_id"]: f["properties"] for f in data["features"]}
    assert by_id["door"]["tags"] == ["entrance"]
    assert by_id["street"]["radius_m"] == 60
    result = invoke("geofences", "import", str(exported), "--store", str(store_id))
    assert "0 created, 0 updated, 3 unchanged" in result.output, result.output
    assert _count(db) == 3


def test_export_to_stdout_is_the_geojson_alone(
    db: sessionmaker[Session],  # noqa: ARG001 - requested for its configured database
    store_id: int,
    tmp_path: Path,
) -> None:
    invoke("geofences", "import", str(_file(tmp_path, *_three())), "--store", str(store_id))
    result = invoke("geofences", "export", "-", "--store", str(store_id))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["features"]) == 3


def test_bad_features_are_tabled_exit_2_and_nothing_is_imported(
    db: sessionmaker[Session], store_id: int, tmp_path: Path
) -> None:
    far = square(*offset(*PARIS, 4_000.0, 0.0), 20.0)
    source = _file(tmp_path, *_three(), fence("bow", BOWTIE), fence("far", far))
    result = invoke("geofences", "import", str(source), "--store", str(store_id))
    assert result.exit_code == 2, result.output
    assert "Invalid features" in result.output
    assert "bow" in result.output
    assert "Self-intersection" in result.output
    assert "at most 2,000 m" in result.output
    assert "[longitude, latitude]" in result.output  # printed as written, not as markup
    assert "2 of 5 features are invalid; nothing was imported" in result.output
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "is not JSON"),
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection"}', "features"),
        (json.dumps({"type": "FeatureCollection", "features": [{}] * 1001}), "the maximum"),
    ],
)
def test_a_file_refused_whole_is_one_line_and_exit_2(
    db: sessionmaker[Session], store_id: int, tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    result = invoke("geofences", "import", str(path), "--store", str(store_id))
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert _count(db) == 0


def test_a_missing_file_or_store_is_one_line_and_exit_2(
    db: sessionmaker[Session],  # noqa: ARG001 - requested for its configured database
    store_id: int,
    tmp_path: Path,
) -> None:
    result = invoke("geofences", "import", str(tmp_path / "nope.geojson"), "--store", "1")
    assert result.exit_code == 2
    assert "cannot read" in result.output
    source = _file(tmp_path, *_three())
    result = invoke("geofences", "import", str(source), "--store", str(store_id + 99))
    assert result.exit_code == 2
    assert f"no store {store_id + 99}" in result.output
    result = invoke("geofences", "export", str(tmp_path / "o.json"), "--store", str(store_id + 99))
    assert result.exit_code == 2
    assert f"no store {store_id + 99}" in result.output

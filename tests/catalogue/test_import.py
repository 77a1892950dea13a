"""CSV import through the operator API and the ``vicinity items import`` command: upserts
by SKU, idempotent, bad rows reported by line, a refused file leaves nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from catalogue.models import Brand, Item
from kernel.config import get_settings
from server.cli import app
from tests.catalogue.factories import Stores, csv_file, new_item, two_stores
from tests.factories import auth

GOOD = (
    "AM90,Air Max 90,Nike,shoes,https://cdn.example.com/am90.jpg,139.90,EUR,",
    "TEE1,Logo tee,Nike,menswear,,29.90,EUR,yes",
    "CAP1,Cap,Patagonia,,,35,EUR,false",
)


@pytest.fixture
def stores(client: TestClient, sessions: sessionmaker[Session]) -> Stores:
    return two_stores(client, sessions)


def post_csv(client: TestClient, key: str, store_id: int, data: bytes, **headers: str) -> Any:
    return client.post(
        f"/v1/stores/{store_id}/items/import",
        content=data,
        headers={"Content-Type": "text/csv", **headers, **auth(key)},
    )


def catalogue(sessions: sessionmaker[Session], store_id: int) -> dict[str, tuple[Any, ...]]:
    with sessions() as session:
        rows = session.scalars(select(Item).where(Item.store_id == store_id))
        return {
            i.sku: (
                i.name,
                None if i.brand is None else i.brand.name,
                None if i.segment is None else i.segment.slug,
                i.image_url,
                i.price_minor,
                i.currency,
                i.active,
                i.updated_at,
            )
            for i in rows
        }


def test_a_file_is_imported_and_importing_it_again_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], stores: Stores
) -> None:
    r = post_csv(client, stores.staff_a, stores.a, csv_file(*GOOD))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0, "unchanged": 0, "rejected": []}
    first = catalogue(sessions, stores.a)
    assert first["AM90"][:7] == (
        "Air Max 90",
        "Nike",
        "shoes",
        "https://cdn.example.com/am90.jpg",
        13990,
        "EUR",
        True,
    )
    assert first["CAP1"][:7] == ("Cap", "Patagonia", None, None, 3500, "EUR", False)

    again = post_csv(client, stores.staff_a, stores.a, csv_file(*GOOD))
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "rejected": []}
    assert catalogue(sessions, stores.a) == first  # updated_at included
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Brand)) == 2

    changed = post_csv(
        client, stores.staff_a, stores.a, csv_file(GOOD[0], "TEE1,Logo tee,,,,24.90,EUR,")
    )
    assert changed.json() == {"created": 0, "updated": 1, "unchanged": 1, "rejected": []}
    now = catalogue(sessions, stores.a)
    assert now["TEE1"][1:5] == (None, None, None, 2490)
    assert now["CAP1"] == first["CAP1"]  # absent from the file: left as it was
    assert catalogue(sessions, stores.b) == {}


def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(
    client: TestClient, sessions: sessionmaker[Session], stores: Stores
) -> None:
    data = csv_file(
        GOOD[0],
        "BAD1,Boots,,,,12.345,EUR,",
        "BAD2,Scarf,,spaceships,,10,EUR,",
        "BAD3,Ring,,,http://cdn.example.com/r.jpg,10,EUR,",
        GOOD[1],
        "BAD4,Belt,,,,10,EURO,",
        "AM90,Twice,,,,1,EUR,",
    )
    r = post_csv(client, stores.staff_a, stores.a, data)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert [(x["line"], x["sku"]) for x in report["rejected"]] == [
        (3, "BAD1"),
        (4, "BAD2"),
        (5, "BAD3"),
        (7, "BAD4"),
        (8, "AM90"),
    ]
    reasons = [x["reason"] for x in report["rejected"]]
    assert reasons[0] == "price has more decimals than EUR's 2"
    assert reasons[1] == "segment: unknown segment 'spaceships'; see GET /v1/segments"
    assert reasons[2] == "image_url: must be an https:// URL with a host"
    assert reasons[3].startswith("currency: must be an ISO 4217 code")
    assert reasons[4] == "SKU 'AM90' is also on line 2"
    assert sorted(catalogue(sessions, stores.a)) == ["AM90", "TEE1"]


@pytest.mark.parametrize(
    "data",
    [
        b"sku,name,price\nS1,Scarf,1\n",
        "sku,name,price,currency\nS1,Écharpe,1,EUR\n".encode("latin-1"),
        b"",
    ],
)
def test_a_refused_file_leaves_the_catalogue_untouched(
    client: TestClient, sessions: sessionmaker[Session], stores: Stores, data: bytes
) -> None:
    new_item(client, stores.staff_a, stores.a, sku="KEEP")
    before = catalogue(sessions, stores.a)
    r = post_csv(client, stores.staff_a, stores.a, data)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert catalogue(sessions, stores.a) == before


def test_the_import_is_scoped_typed_and_size_limited(client: TestClient, stores: Stores) -> None:
    assert post_csv(client, stores.staff_a, stores.b, csv_file(*GOOD)).status_code == 404
    assert post_csv(client, stores.tech_a, stores.a, csv_file(*GOOD)).status_code == 403
    assert post_csv(client, stores.operator, stores.b, csv_file(*GOOD)).status_code == 200
    r = post_csv(client, stores.staff_a, stores.a, csv_file(*GOOD), **{"Content-Type": "x/y"})
    assert r.status_code == 422
    assert "Content-Type: text/csv" in r.json()["detail"]
    huge = csv_file(*[f"S{n},Scarf,,,,1,EUR," for n in range(60_000)])
    assert len(huge) > get_settings().max_body_bytes
    assert post_csv(client, stores.staff_a, stores.a, huge).status_code == 413


# The command line.

WIDE = {"COLUMNS": "200"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


@pytest.fixture
def on_test_db(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[None]:
    """The CLI configured, as an operator's shell would be, for the test database."""
    monkeypatch.setenv("VICINITY_DATABASE_URL", database_url)
    monkeypatch.setenv("VICINITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("on_test_db")
def test_the_command_imports_and_reports(
    sessions: sessionmaker[Session], stores: Stores, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(csv_file(*GOOD))
    done = invoke("items", "import", str(good), "--store", str(stores.a))
    assert done.exit_code == 0, done.output
    assert f"store {stores.a}: 3 created, 0 updated, 0 unchanged, 0 rejected" in done.output
    again = invoke("items", "import", str(good), "--store", str(stores.a))
    assert (again.exit_code, "0 created, 0 updated, 3 unchanged" in again.output) == (0, True)

    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(csv_file("NEW1,Sock,,,,4.50,EUR,", "BAD1,Boots,,,,-1,EUR,"))
    partial = invoke("items", "import", str(mixed), "--store", str(stores.a))
    assert partial.exit_code == 1, partial.output
    [row] = [line for line in partial.output.splitlines() if "BAD1" in line]
    assert "3" in row
    assert "not a decimal number" in row
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in partial.output
    assert "NEW1" in catalogue(sessions, stores.a)  # the good row is committed


@pytest.mark.usefixtures("on_test_db")
def test_the_command_refuses_in_one_line_and_writes_nothing(
    sessions: sessionmaker[Session], stores: Stores, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"sku,name,price\n" + b"S1,Scarf,1\n")
    good = tmp_path / "good.csv"
    good.write_bytes(csv_file(*GOOD))
    for args, message in [
        ((str(broken), "--store", str(stores.a)), "error: the header lacks the column currency"),
        ((str(good), "--store", "999"), "error: no store 999"),
        ((str(tmp_path / "nope.csv"), "--store", str(stores.a)), "error: cannot read"),
    ]:
        result = invoke("items", "import", *args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(message)
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert catalogue(sessions, stores.a) == {}


def test_the_command_refuses_a_missing_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VICINITY_DATABASE_URL", raising=False)
    monkeypatch.setenv("VICINITY_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    good = tmp_path / "good.csv"
    good.write_bytes(csv_file(*GOOD))
    try:
        result = invoke("items", "import", str(good), "--store", "1")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.output.startswith("error: no database at")
    assert not (tmp_path / "var" / "vicinity.db").exists()

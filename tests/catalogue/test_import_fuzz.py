"""The catalogue's CSV import under Hypothesis: any file is read or refused in words.

Pure checks on :func:`catalogue.importer.parse_csv` (arbitrary bytes and arbitrary cells
under a good header never raise anything but ``Invalid``; valid rows, written by Python's
own CSV writer, come back as the items they were made from), then the same through
``POST /v1/stores/{id}/items/import``, which must answer 200 or 422 and never 500.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from catalogue.core import MAX_PRICE_MINOR, brand_slug
from catalogue.currencies import DECIMALS
from catalogue.importer import OPTIONAL, REQUIRED, ParsedFile, parse_csv
from catalogue.schemas import ItemCreate
from kernel.errors import Invalid
from kernel.principal import Role
from tests.factories import api_key, auth, new_store

api_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Strategies

COLUMNS = REQUIRED + OPTIONAL
# Printable text as a spreadsheet holds it: no control characters, no surrogates, and
# no edge spaces (the importer trims cells, so they would not come back).
_printable = st.characters(blacklist_categories=("Cc", "Cs"))
words = (
    st.text(_printable, min_size=1, max_size=40)
    .map(str.strip)
    .filter(lambda s: s != "" and s == s.strip())
)
skus = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
brands = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9 &'.-]{0,18}[A-Za-z0-9])?", fullmatch=True)
image_urls = st.from_regex(r"https://cdn\.example\.com/[a-z0-9/_.-]{1,30}", fullmatch=True)
currencies = st.sampled_from(sorted(DECIMALS))


@st.composite
def items(draw: st.DrawFn) -> ItemCreate:
    return ItemCreate(
        sku=draw(skus),
        name=draw(words),
        brand=draw(st.none() | brands),
        segment=None,  # segments are the database's: the API test adds real ones
        image_url=draw(st.none() | image_urls),
        price_minor=draw(st.integers(0, MAX_PRICE_MINOR)),
        currency=draw(currencies),
        active=draw(st.booleans()),
    )


catalogues = st.lists(items(), min_size=1, max_size=8, unique_by=lambda i: i.sku)


def price_text(minor: int, currency: str) -> str:
    decimals = DECIMALS[currency]
    if decimals == 0:
        return str(minor)
    whole, fraction = divmod(minor, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}"


def write_csv(header: list[str], rows: list[list[str]], *, bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def as_row(item: ItemCreate, header: list[str]) -> list[str]:
    cells = {
        "sku": item.sku,
        "name": item.name,
        "brand": item.brand or "",
        "segment": item.segment or "",
        "image_url": item.image_url or "",
        "price": price_text(item.price_minor, item.currency),
        "currency": item.currency,
        "active": "true" if item.active else "no",
    }
    return [cells[column] for column in header]


# Any header order: required columns, some optional ones.
headers = st.lists(st.sampled_from(OPTIONAL), unique=True).flatmap(
    lambda extra: st.permutations([*REQUIRED, *extra])
)


def read_or_refuse(data: bytes) -> ParsedFile | None:
    try:
        return parse_csv(data)
    except Invalid as refused:
        problem = refused
    assert problem.status_code == 422
    assert problem.detail
    return None


# Pure


@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_as_invalid(data: bytes) -> None:
    read_or_refuse(data)


@given(st.text(max_size=400))
def test_any_text_is_read_or_refused_as_invalid(text: str) -> None:
    read_or_refuse(text.encode("utf-8", "surrogatepass"))


@given(headers, st.lists(st.lists(st.text(max_size=12), max_size=10), max_size=8))
@example(["name", "sku", "price", "currency"], [["Scarf"]])  # was a 500: no SKU cell
def test_any_cells_under_a_good_header_are_rows_or_rejections(
    header: list[str], records: list[list[str]]
) -> None:
    parsed = read_or_refuse(write_csv(header, records))
    if parsed is None:
        return
    lines = [r.line for r in parsed.rows] + [r.line for r in parsed.rejected]
    assert len(lines) == len(set(lines)), "a line is both written and rejected"
    assert all(line >= 2 for line in lines)  # line 1 is the header
    skus = [r.item.sku for r in parsed.rows]
    assert len(skus) == len(set(skus))


def test_a_short_row_that_ends_before_its_sku_is_rejected_by_line() -> None:
    parsed = parse_csv(b"name,sku,price,currency\nScarf\nCap,C1,5,EUR\n")
    assert [(r.line, r.sku, r.reason) for r in parsed.rejected] == [
        (2, None, "1 fields; the header has 4")
    ]
    assert [r.item.sku for r in parsed.rows] == ["C1"]


@given(catalogues, headers, st.booleans())
def test_valid_rows_come_back_as_the_items_they_were(
    made: list[ItemCreate], header: list[str], bom: bool
) -> None:
    if "brand" not in header or "image_url" not in header:
        made = [
            i.model_copy(
                update={
                    "brand": i.brand if "brand" in header else None,
                    "image_url": i.image_url if "image_url" in header else None,
                }
            )
            for i in made
        ]
    if "active" not in header:  # an absent column means active
        made = [i.model_copy(update={"active": True}) for i in made]
    parsed = parse_csv(write_csv(header, [as_row(i, header) for i in made], bom=bom))
    assert parsed.rejected == []
    assert [r.item for r in parsed.rows] == made
    assert [r.line for r in parsed.rows] == list(range(2, len(made) + 2))


# Through the API


@pytest.fixture
def staff(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR), "Fuzzed")
    return store_id, api_key(sessions, Role.STORE, [store_id])


def post_csv(client: TestClient, shop: tuple[int, str], data: bytes) -> Any:
    store_id, key = shop
    headers = {"Content-Type": "text/csv", **auth(key)}
    return client.post(f"/v1/stores/{store_id}/items/import", content=data, headers=headers)


@api_settings
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.builds(
            write_csv,
            headers,
            st.lists(st.lists(st.text(max_size=12), max_size=10), max_size=6),
        ),
    )
)
def test_no_file_is_a_server_error(client: TestClient, staff: tuple[int, str], data: bytes) -> None:
    r = post_csv(client, staff, data)
    if r.status_code != 200:
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid"
        assert r.json()["detail"]


@api_settings
@given(catalogues, st.sampled_from([None, "shoes", "menswear"]))
def test_valid_rows_round_trip_through_the_api(
    client: TestClient, staff: tuple[int, str], made: list[ItemCreate], segment: str | None
) -> None:
    made = [i.model_copy(update={"segment": segment}) for i in made]
    header = list(COLUMNS)
    data = write_csv(header, [as_row(i, header) for i in made])
    # The store is shared by the examples: an earlier one's SKU is updated, not created,
    # and the same file again changes nothing either way.
    first = post_csv(client, staff, data).json()
    again = post_csv(client, staff, data).json()
    assert again["rejected"] == first["rejected"] == []
    assert again["unchanged"] == len(made)
    by_sku = {i["sku"]: i for i in catalogue(client, staff)}
    for item in made:
        back = by_sku[item.sku]
        assert (back["name"], back["segment"], back["image_url"]) == (
            item.name,
            item.segment,
            item.image_url,
        )
        assert (back["price_minor"], back["currency"], back["active"]) == (
            item.price_minor,
            item.currency,
            item.active,
        )
        # A brand is found by its slug: one already known keeps its first spelling.
        slug = None if item.brand is None else brand_slug(item.brand)
        assert (back["brand"] and back["brand"]["slug"]) == slug


def catalogue(client: TestClient, shop: tuple[int, str]) -> list[dict[str, Any]]:
    store_id, key = shop
    listed: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = client.get(
            f"/v1/stores/{store_id}/items", params={"after": after, "limit": 200}, headers=auth(key)
        ).json()
        listed += page["items"]
        after = page["next_after"]
    return listed

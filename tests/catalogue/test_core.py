"""The pure rules: brand slugs, prices in minor units, and reading a CSV file row by row."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.core import MAX_PRICE_MINOR, brand_slug, currency_problem, parse_flag, to_minor_units
from catalogue.importer import parse_csv
from kernel.errors import Invalid
from tests.catalogue.factories import csv_file


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nike", "nike"),
        ("  NIKE ", "nike"),
        ("Lévi's Strauss & Co.", "levi-s-strauss-co"),
        ("Maison Kitsuné", "maison-kitsune"),
        ("A.P.C.", "a-p-c"),
        ("!!!", ""),
        ("x" * 100, "x" * 64),
        ("ab " + "c" * 62, "ab-" + "c" * 61),
    ],
)
def test_brand_slugs(name: str, slug: str) -> None:
    assert brand_slug(name) == slug


@given(st.text(max_size=200))
def test_a_slug_is_short_lowercase_ascii_and_stable(name: str) -> None:
    slug = brand_slug(name)
    assert len(slug) <= 64
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in slug)
    assert not slug.startswith("-")
    assert not slug.endswith("-")
    assert brand_slug(slug) == slug


@pytest.mark.parametrize(
    ("price", "currency", "minor"),
    [
        ("59.90", "EUR", 5990),
        ("59.9", "EUR", 5990),
        ("59", "EUR", 5900),
        ("59.900", "EUR", 5990),
        ("0", "USD", 0),
        ("5990", "JPY", 5990),
        ("5990.0", "JPY", 5990),
        ("1.234", "KWD", 1234),
    ],
)
def test_prices_become_minor_units_of_their_currency(price: str, currency: str, minor: int) -> None:
    assert to_minor_units(price, currency) == minor


@pytest.mark.parametrize(
    ("price", "currency", "message"),
    [
        ("59.905", "EUR", "more decimals than EUR's 2"),
        ("59.5", "JPY", "more decimals than JPY's 0"),
        ("-5", "EUR", "not a decimal number"),
        ("1e3", "EUR", "not a decimal number"),
        ("59,90", "EUR", "not a decimal number"),
        ("1 000", "EUR", "not a decimal number"),
        ("NaN", "EUR", "not a decimal number"),
        ("9" * 40, "EUR", f"at most {MAX_PRICE_MINOR}"),
    ],
)
def test_bad_prices_are_named(price: str, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_minor_units(price, currency)


def test_currencies_are_iso_4217_in_capitals() -> None:
    assert currency_problem("EUR") is None
    assert currency_problem("JPY") is None
    assert currency_problem("eur") is not None
    assert currency_problem("XXX") == "unknown ISO 4217 currency XXX"


def test_flags() -> None:
    assert [parse_flag(v) for v in ("", "true", "YES", "1", " y ")] == [True] * 5
    assert [parse_flag(v) for v in ("false", "No", "0", "n")] == [False] * 4
    with pytest.raises(ValueError, match="active must be true or false"):
        parse_flag("maybe")


def test_rows_are_read_with_their_line_numbers() -> None:
    data = csv_file(
        "A1,Air Max,Nike,shoes,https://cdn.example.com/a.jpg,139.90,EUR,",
        "",
        ',"Two-line\nname",,,,1,EUR,',
        "A3,Tee,,,,19.90,EUR,no",
        ",,,,,,,",
        "A4,Cap,,,,-3,EUR,",
        "A1,Again,,,,1,EUR,",
        "A5,Short,1",
        "A6,Yen,,,,500,JPY,true",
    )
    parsed = parse_csv(data)
    assert [(r.line, r.item.sku, r.item.price_minor) for r in parsed.rows] == [
        (2, "A1", 13990),
        (6, "A3", 1990),
        (11, "A6", 500),
    ]
    assert parsed.rows[0].item.brand == "Nike"
    assert parsed.rows[0].item.active is True
    assert parsed.rows[1].item.active is False
    reasons = {r.line: (r.sku, r.reason) for r in parsed.rejected}
    assert reasons[4] == (
        None,
        "sku: String should have at least 1 character; "
        "name: must not contain control characters (U+000A at position 8)",
    )
    assert reasons[8] == ("A4", "price '-3' is not a decimal number like 59.90")
    assert reasons[9] == ("A1", "SKU 'A1' is also on line 2")
    assert reasons[10] == ("A5", "3 fields; the header has 8")
    assert sorted(reasons) == [4, 8, 9, 10]


def test_columns_may_come_in_any_order_and_optional_ones_be_left_out() -> None:
    parsed = parse_csv(csv_file("39.00,EUR,Scarf,S1", header="Price,Currency,NAME,sku"))
    [row] = parsed.rows
    assert (row.item.sku, row.item.name, row.item.price_minor, row.item.brand) == (
        "S1",
        "Scarf",
        3900,
        None,
    )
    # A spreadsheet's UTF-8 byte-order mark is not part of the first column's name.
    assert parse_csv(b"\xef\xbb\xbf" + csv_file("S1,Scarf,,,,1,EUR,")).rows


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        ("sku,name,price,currency\nS1,Écharpe,1,EUR\n".encode("latin-1"), "not UTF-8"),
        (b"sku,name,price\nS1,Scarf,1\n", "lacks the column currency"),
        (b"sku,name,price,currency,colour\n", "unknown column 'colour'"),
        (b"sku,name,price,currency,sku\n", "column 'sku' appears twice"),
        (csv_file('S1,"Scarf"x,,,,1,EUR,'), "not valid CSV at line 2"),
        (csv_file('S1,"Scarf,,,,1,EUR,'), "not valid CSV"),
    ],
)
def test_an_unreadable_file_is_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_csv(data)

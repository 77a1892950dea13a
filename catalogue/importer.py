"""Reading a store's catalogue from CSV: the file checked as a whole, then row by row.

The file is UTF-8 (a spreadsheet's byte-order mark is allowed), its first line the header:
``sku,name,price,currency`` required, ``brand,segment,image_url,active`` optional, in any
order. A file that cannot be read that way is refused whole (:class:`~kernel.errors.Invalid`)
before anything is written. A bad row is rejected with its line number and the reason, and
the others go on: the importer (``catalogue.service.import_items``) writes them.

Prices are decimals in the currency (``59.90``), turned into minor units here; whether a
segment exists is the service's question, since it needs the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pydantic import ValidationError

from catalogue import core
from catalogue.schemas import ItemCreate
from kernel.errors import Invalid

REQUIRED = ("sku", "name", "price", "currency")
OPTIONAL = ("brand", "segment", "image_url", "active")
# Reasons name the file's column, not the API's field.
_COLUMN_OF = {"price_minor": "price"}
_MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    item: ItemCreate


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    sku: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    rows: list[Row]
    rejected: list[Rejected]


def parse_csv(data: bytes) -> ParsedFile:
    """The file's valid rows and its rejected ones; :class:`Invalid` when the file as a
    whole is unreadable (encoding, header, broken quoting)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _header(next(reader, None))
        rows: list[Row] = []
        rejected: list[Rejected] = []
        seen: dict[str, int] = {}
        line = reader.line_num + 1
        for record in reader:
            outcome = _row(line, header, record, seen)
            if isinstance(outcome, Row):
                rows.append(outcome)
            elif outcome is not None:
                rejected.append(outcome)
            line = reader.line_num + 1
    except csv.Error as error:
        raise Invalid(f"the file is not valid CSV at line {reader.line_num}: {error}") from error
    return ParsedFile(rows=rows, rejected=rejected)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        byte = data[error.start]
        raise Invalid(
            f"the file is not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); "
            "save it as CSV UTF-8"
        ) from error


def _header(record: list[str] | None) -> list[str]:
    expected = f"it must name {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})"
    if not record:
        raise Invalid(f"the file is empty: its first line must be the header; {expected}")
    header = [cell.strip().lower() for cell in record]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise Invalid(f"unknown column {unknown[0][:40]!r} in the header; {expected}")
    twice = [c for c in dict.fromkeys(header) if header.count(c) > 1]
    if twice:
        raise Invalid(f"column {twice[0]!r} appears twice in the header")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise Invalid(f"the header lacks the column {', '.join(missing)}; {expected}")
    return header


def _row(
    line: int, header: list[str], record: list[str], seen: dict[str, int]
) -> Row | Rejected | None:
    """One record: a row to write, a rejected one, or None for an empty line."""
    if not any(cell.strip() for cell in record):
        return None  # blank lines and spreadsheets' trailing ",,,," rows
    cells = dict(zip(header, (cell.strip() for cell in record), strict=False))
    sku = cells.get("sku", "")[:64] or None  # a short row may end before its SKU column
    if len(record) != len(header):
        return Rejected(line, sku, f"{len(record)} fields; the header has {len(header)}")
    try:
        item = _item(cells)
    except ValidationError as error:  # a ValueError too: first
        return Rejected(line, sku, _clip(_reasons(error)))
    except ValueError as error:
        return Rejected(line, sku, _clip(str(error)))
    if item.sku in seen:
        return Rejected(line, sku, f"SKU {item.sku!r} is also on line {seen[item.sku]}")
    seen[item.sku] = line
    return Row(line, item)


def _item(cells: dict[str, str]) -> ItemCreate:
    currency = cells["currency"]
    if (problem := core.currency_problem(currency)) is not None:
        raise ValueError(f"currency: {problem}")
    return ItemCreate(
        sku=cells["sku"],
        name=cells["name"],
        brand=cells.get("brand") or None,
        segment=cells.get("segment") or None,
        image_url=cells.get("image_url") or None,
        price_minor=_minor_units(cells["price"], currency),
        currency=currency,
        active=core.parse_flag(cells.get("active", "")),
    )


def _minor_units(price: str, currency: str) -> int:
    if not price:
        raise ValueError("price: required")
    minor = core.to_minor_units(price, currency)
    if minor > core.MAX_PRICE_MINOR:
        raise ValueError(f"price must be at most {core.MAX_PRICE_MINOR} minor units")
    return minor


def _reasons(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(p) for p in problem["loc"]) or "row"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{_COLUMN_OF.get(field, field)}: {message}")
    return "; ".join(parts)


def _clip(reason: str) -> str:
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"

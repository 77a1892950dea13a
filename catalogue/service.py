"""The catalogue: store staff publish their items, one by one or a CSV file at a time.

Brands are found or created by slug as items name them; the import writes rows by SKU so
the same file imported twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from catalogue import repository
from catalogue.core import brand_slug
from catalogue.importer import ParsedFile, Rejected, Row
from catalogue.models import Brand, Item
from catalogue.schemas import ItemCreate, ItemUpdate
from kernel.errors import Conflict, Invalid
from kernel.principal import Role, Staff
from preferences.models import Segment
from preferences.segments import segments_by_slug
from stores.repository import managed_by
from stores.service import get_store

_REQUIRED = ("sku", "name", "price_minor", "currency", "active")
_WRITTEN = ("sku", "name", "image_url", "price_minor", "currency", "active")
_CHUNK = 500


# Brands.


def find_or_create_brands(session: Session, names: Iterable[str]) -> dict[str, Brand]:
    """The brand of each name, by slug, created when missing. Safe against a concurrent
    request creating the same brand: the insert skips a slug that exists by then."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(brand_slug(name), name)
    found = repository.brands_by_slugs(session, wanted)
    missing = [{"slug": s, "name": n} for s, n in wanted.items() if s not in found]
    if missing:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(Brand).values(missing).on_conflict_do_nothing(index_elements=["slug"])
        session.execute(stmt)
        found.update(repository.brands_by_slugs(session, (m["slug"] for m in missing)))
    return found


def _brand(session: Session, name: str | None) -> Brand | None:
    return None if name is None else find_or_create_brands(session, [name])[brand_slug(name)]


def create_brand(session: Session, *, staff: Staff, name: str) -> tuple[Brand, bool]:
    """The brand of this name, and whether it is new (an existing slug is returned)."""
    managed_by(staff)  # store and operator keys; a tech key manages no store data
    slug = brand_slug(name)
    existed = slug in repository.brands_by_slugs(session, [slug])
    return find_or_create_brands(session, [name])[slug], not existed


def list_brands(
    session: Session, *, staff: Staff, q: str | None, after: int, limit: int
) -> list[Brand]:
    del staff  # any staff key reads the shared brand list
    return repository.brands_page(session, q=q, after=after, limit=limit)


# Items.


def _segment(session: Session, slug: str | None) -> Segment | None:
    return None if slug is None else segments_by_slug(session, [slug])[0]


def _check_sku_free(session: Session, store_id: int, sku: str) -> None:
    if repository.sku_taken(session, store_id, sku):
        raise Conflict(f"store {store_id} already has an item with SKU {sku!r}")


def create_item(session: Session, *, staff: Staff, store_id: int, data: ItemCreate) -> Item:
    get_store(session, staff=staff, store_id=store_id)
    _check_sku_free(session, store_id, data.sku)
    item = Item(
        store_id=store_id,
        sku=data.sku,
        name=data.name,
        brand=_brand(session, data.brand),
        segment=_segment(session, data.segment),
        image_url=data.image_url,
        price_minor=data.price_minor,
        currency=data.currency,
        active=data.active,
    )
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, *, staff: Staff, item_id: int) -> Item:
    return repository.get(session, item_id, managed_by(staff))


def list_items(
    session: Session, *, staff: Staff, store_id: int, active: bool | None, after: int, limit: int
) -> list[Item]:
    get_store(session, staff=staff, store_id=store_id)
    return repository.of_store(session, store_id, active=active, after=after, limit=limit)


def update_item(session: Session, *, staff: Staff, item_id: int, data: ItemUpdate) -> Item:
    item = get_item(session, staff=staff, item_id=item_id)
    changes = data.model_dump(exclude_unset=True)
    cleared = [name for name in _REQUIRED if name in changes and changes[name] is None]
    if cleared:
        raise Invalid(f"{cleared[0]}: cannot be null; leave it out to keep it")
    if "sku" in changes and changes["sku"] != item.sku:
        _check_sku_free(session, item.store_id, changes["sku"])
    for name in _WRITTEN:
        if name in changes:
            setattr(item, name, changes[name])
    if "brand" in changes:
        item.brand = _brand(session, data.brand)
    if "segment" in changes:
        item.segment = _segment(session, data.segment)
    session.flush()
    return item


def delete_item(session: Session, *, staff: Staff, item_id: int) -> None:
    session.delete(get_item(session, staff=staff, item_id=item_id))
    session.flush()


# CSV import.


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    rejected: list[Rejected]

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


# The shell has no key: whoever runs the server's command line is its operator.
_SHELL = Staff(key_id=0, role=Role.OPERATOR, store_ids=frozenset())


def import_items(
    session: Session,
    *,
    staff: Staff | None,
    store_id: int,
    rows: ParsedFile,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write the file's valid rows into the store's catalogue, by SKU: new SKUs are
    created, changed ones updated, the rest left as they are (items absent from the file
    too). A row naming an unknown segment is rejected like the file's own bad rows.

    ``staff`` None is the operator at the server's shell (``vicinity items import``).
    ``progress`` is told how many rows each written chunk held.
    """
    get_store(session, staff=staff or _SHELL, store_id=store_id)
    slugs = {r.item.segment for r in rows.rows if r.item.segment is not None}
    segments = {s.slug: s for s in session.scalars(select(Segment).where(Segment.slug.in_(slugs)))}
    rejected = list(rows.rejected)
    valid: list[Row] = []
    for row in rows.rows:
        if row.item.segment is not None and row.item.segment not in segments:
            reason = f"segment: unknown segment {row.item.segment!r}; see GET /v1/segments"
            rejected.append(Rejected(row.line, row.item.sku, reason))
        else:
            valid.append(row)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(valid), _CHUNK):
        chunk = valid[start : start + _CHUNK]
        existing = repository.by_skus(session, store_id, [r.item.sku for r in chunk])
        brands = find_or_create_brands(session, (r.item.brand for r in chunk if r.item.brand))
        for row in chunk:
            wanted = _columns(row.item, brands, segments)
            item = existing.get(row.item.sku)
            if item is None:
                session.add(Item(store_id=store_id, **wanted))
                counts["created"] += 1
            elif any(getattr(item, k) != v for k, v in wanted.items()):
                for name, value in wanted.items():
                    setattr(item, name, value)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        session.flush()
        if progress is not None:
            progress(len(chunk))
    rejected.sort(key=lambda r: r.line)
    return ImportReport(rejected=rejected, **counts)


def _columns(
    item: ItemCreate, brands: dict[str, Brand], segments: dict[str, Segment]
) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "name": item.name,
        # Objects of this session's identity map: compared by identity, set as relations.
        "brand": None if item.brand is None else brands[brand_slug(item.brand)],
        "segment": None if item.segment is None else segments[item.segment],
        "image_url": item.image_url,
        "price_minor": item.price_minor,
        "currency": item.currency,
        "active": item.active,
    }

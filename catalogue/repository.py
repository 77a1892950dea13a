"""Catalogue reads. Staff reads are scoped to the caller's stores (``stores.repository``);
the unscoped reads at the bottom are for other domains (looks, search), which decide
themselves who may see what they build from them."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from catalogue.core import brand_slug
from catalogue.models import Brand, Item
from kernel.errors import NotFound
from kernel.pagination import keyset
from stores.repository import Scope, in_scope


def get(session: Session, item_id: int, scope: Scope) -> Item:
    item = session.get(Item, item_id)
    if item is None or not in_scope(item.store_id, scope):
        raise NotFound(f"no item {item_id}")
    return item


def of_store(
    session: Session, store_id: int, *, active: bool | None, after: int, limit: int
) -> list[Item]:
    query = select(Item).where(Item.store_id == store_id)
    if active is not None:
        query = query.where(Item.active.is_(active))
    return list(session.scalars(keyset(query, Item.id, after=after, limit=limit)))


def by_skus(session: Session, store_id: int, skus: Collection[str]) -> dict[str, Item]:
    """The store's items with these SKUs, by SKU (read in chunks: IN lists stay small)."""
    wanted = list(skus)
    found: dict[str, Item] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(Item).where(Item.store_id == store_id, Item.sku.in_(chunk))
        found.update((i.sku, i) for i in session.scalars(query))
    return found


def sku_taken(session: Session, store_id: int, sku: str) -> bool:
    query = select(Item.id).where(Item.store_id == store_id, Item.sku == sku)
    return session.scalar(query) is not None


def brands_by_slugs(session: Session, slugs: Iterable[str]) -> dict[str, Brand]:
    wanted = list(dict.fromkeys(slugs))
    found: dict[str, Brand] = {}
    for start in range(0, len(wanted), 500):
        query = select(Brand).where(Brand.slug.in_(wanted[start : start + 500]))
        found.update((b.slug, b) for b in session.scalars(query))
    return found


def brands_page(session: Session, *, q: str | None, after: int, limit: int) -> list[Brand]:
    """Brands whose slug contains the slug of ``q`` ("levi" finds "Levi's")."""
    query = select(Brand)
    if q is not None and (needle := brand_slug(q)):
        # A slug holds only a-z, 0-9 and '-': nothing in it is a LIKE wildcard.
        query = query.where(Brand.slug.contains(needle))
    return list(session.scalars(keyset(query, Brand.id, after=after, limit=limit)))


# For other domains: unscoped.


def items_by_ids(session: Session, ids: Collection[int]) -> list[Item]:
    """These items (active or not), with their brand and segment, by id; missing ids are
    left out."""
    if not ids:
        return []
    return list(session.scalars(select(Item).where(Item.id.in_(list(ids))).order_by(Item.id)))


def active_items_of_store(session: Session, store_id: int) -> list[Item]:
    query = select(Item).where(Item.store_id == store_id, Item.active.is_(True))
    return list(session.scalars(query.order_by(Item.id)))


def brand_ids_sold_at(session: Session, store_id: int) -> set[int]:
    """The brands of the store's active items."""
    query = select(Item.brand_id).where(
        Item.store_id == store_id, Item.active.is_(True), Item.brand_id.is_not(None)
    )
    return {brand_id for brand_id in session.scalars(query.distinct()) if brand_id is not None}


def search_candidates(session: Session, store_ids: Collection[int]) -> list[Item]:
    """The active items of these stores, each with its brand (and segment) loaded."""
    if not store_ids:
        return []
    query = (
        select(Item)
        .options(joinedload(Item.brand), joinedload(Item.segment))
        .where(Item.store_id.in_(list(store_ids)), Item.active.is_(True))
        .order_by(Item.id)
    )
    return list(session.scalars(query))


def brands_by_ids(session: Session, ids: Collection[int]) -> list[Brand]:
    """These brands, by id; missing ids are left out."""
    if not ids:
        return []
    return list(session.scalars(select(Brand).where(Brand.id.in_(list(ids))).order_by(Brand.id)))

"""The segment taxonomy: seeding, the operator's edits, lookups by slug, and expansion
down the tree (an interest in a parent covers its children)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.errors import Conflict, Invalid, NotFound
from preferences.models import Segment
from preferences.taxonomy import TAXONOMY


def seed_taxonomy(session: Session) -> int:
    """Seed the retail taxonomy into an empty segment table; returns how many were added.

    Once segments exist the operator manages them: a deleted segment stays deleted.
    """
    if session.scalar(select(func.count()).select_from(Segment)):
        return 0
    known: dict[str, Segment] = {}
    for slug, parent, label_en, label_fr in TAXONOMY:
        seg = Segment(
            slug=slug,
            parent_id=known[parent].id if parent else None,
            label_en=label_en,
            label_fr=label_fr,
        )
        session.add(seg)
        session.flush()
        known[slug] = seg
    return len(known)


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.id)))


def segments_by_slug(session: Session, slugs: Iterable[str]) -> list[Segment]:
    wanted = list(dict.fromkeys(slugs))
    found = {s.slug: s for s in session.scalars(select(Segment).where(Segment.slug.in_(wanted)))}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise Invalid(f"unknown segment {unknown[0]!r}; see GET /v1/segments")
    return [found[s] for s in wanted]


def _segment(session: Session, slug: str) -> Segment:
    seg = session.scalar(select(Segment).where(Segment.slug == slug))
    if seg is None:
        raise NotFound(f"no segment {slug!r}; see GET /v1/segments")
    return seg


def _parent(session: Session, slug: str | None) -> Segment | None:
    if slug is None:
        return None
    parent = session.scalar(select(Segment).where(Segment.slug == slug))
    if parent is None:
        raise Invalid(f"unknown parent segment {slug!r}; see GET /v1/segments")
    return parent


def create_segment(
    session: Session, *, slug: str, parent: str | None, label_en: str, label_fr: str
) -> Segment:
    """Add a segment under ``parent`` (or at the top); slugs are unique."""
    if session.scalar(select(Segment.id).where(Segment.slug == slug)) is not None:
        raise Conflict(f"segment {slug!r} already exists")
    parent_seg = _parent(session, parent)
    seg = Segment(
        slug=slug,
        parent_id=parent_seg.id if parent_seg else None,
        label_en=label_en,
        label_fr=label_fr,
    )
    session.add(seg)
    session.flush()
    return seg


def update_segment(
    session: Session,
    *,
    slug: str,
    label_en: str | None = None,
    label_fr: str | None = None,
    move: bool = False,
    parent: str | None = None,
) -> Segment:
    """Relabel a segment, or with ``move`` put it under ``parent`` (never under itself)."""
    seg = _segment(session, slug)
    if move:
        parent_seg = _parent(session, parent)
        if parent_seg is not None and parent_seg.slug in with_descendants(session, [slug]):
            raise Invalid(
                f"segment {parent_seg.slug!r} is {slug!r} or one of its children; "
                "a segment cannot sit under itself"
            )
        seg.parent_id = parent_seg.id if parent_seg else None
    if label_en is not None:
        seg.label_en = label_en
    if label_fr is not None:
        seg.label_fr = label_fr
    session.flush()
    return seg


def delete_segment(session: Session, *, slug: str) -> None:
    """Delete a leaf segment no offer targets; users' choices of it go with it."""
    seg = _segment(session, slug)
    children = session.scalar(
        select(func.count()).select_from(Segment).where(Segment.parent_id == seg.id)
    )
    if children:
        raise Conflict(f"segment {slug!r} has {children} child segments; move or delete them")
    # The offers' link table, found by name in the shared metadata: preferences sit below
    # offers and do not import them.
    offer_segments = Segment.metadata.tables["offer_segments"]
    offers = session.scalar(
        select(func.count())
        .select_from(offer_segments)
        .where(offer_segments.c.segment_id == seg.id)
    )
    if offers:
        raise Conflict(f"segment {slug!r} is targeted by {offers} offers; retarget them first")
    session.delete(seg)
    session.flush()


def with_descendants(session: Session, slugs: Iterable[str]) -> frozenset[str]:
    """Choosing a parent covers its children: expand slugs down the taxonomy."""
    rows = session.execute(select(Segment.id, Segment.slug, Segment.parent_id)).all()
    return expand(rows, slugs)


def expand(rows: Iterable[tuple[int, str, int | None]], slugs: Iterable[str]) -> frozenset[str]:
    """:func:`with_descendants` over taxonomy rows already read: (id, slug, parent_id)."""
    children: dict[int | None, list[tuple[int, str]]] = {}
    ids = {}
    for seg_id, slug, parent_id in rows:
        children.setdefault(parent_id, []).append((seg_id, slug))
        ids[slug] = seg_id
    wanted = [s for s in slugs if s in ids]
    out: set[str] = set(wanted)
    stack = [ids[s] for s in wanted]
    while stack:
        for child_id, child_slug in children.get(stack.pop(), []):
            if child_slug not in out:
                out.add(child_slug)
                stack.append(child_id)
    return frozenset(out)

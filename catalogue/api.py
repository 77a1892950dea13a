"""The catalogue: store staff publish their items; every staff key reads the brands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from catalogue import service
from catalogue.importer import parse_csv
from catalogue.schemas import (
    BrandCreate,
    BrandOut,
    ImportReportOut,
    ItemCreate,
    ItemOut,
    ItemUpdate,
    Rejection,
)
from kernel.errors import Invalid
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentStaff, SessionDep

router = APIRouter(tags=["catalogue"])

CSV_TYPES = ("text/csv", "application/csv", "text/plain")
CsvFile = Annotated[
    bytes,
    Body(
        media_type="text/csv",
        description="UTF-8 CSV whose header names `sku,name,price,currency` and optionally "
        "`brand,segment,image_url,active`; prices are decimals (`59.90`). At most "
        "`VICINITY_MAX_BODY_BYTES`.",
    ),
]
ActiveFilter = Annotated[
    bool | None, Query(description="Only active (`true`) or inactive (`false`) items.")
]
BrandQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=120, description="Part of the brand's name."),
]


@router.post(
    "/v1/stores/{store_id}/items",
    status_code=status.HTTP_201_CREATED,
    summary="Publish an item in a store's catalogue",
)
def create_item(
    store_id: IdPath, body: ItemCreate, session: SessionDep, staff: CurrentStaff
) -> ItemOut:
    return ItemOut.of(service.create_item(session, staff=staff, store_id=store_id, data=body))


@router.get("/v1/stores/{store_id}/items", summary="A store's catalogue")
def list_items(
    store_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    active: ActiveFilter = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[ItemOut]:
    rows = service.list_items(
        session, staff=staff, store_id=store_id, active=active, after=after, limit=limit
    )
    return Page(
        items=[ItemOut.of(r) for r in rows], next_after=next_cursor([r.id for r in rows], limit)
    )


@router.post("/v1/stores/{store_id}/items/import", summary="Import a store's items from CSV")
def import_items(
    store_id: IdPath, body: CsvFile, request: Request, session: SessionDep, staff: CurrentStaff
) -> ImportReportOut:
    """Rows are matched by SKU: new ones created, changed ones updated, the same file sent
    twice changes nothing. Bad rows are reported with their line and skipped; a file that
    cannot be read at all (encoding, header) is refused whole (422), nothing written."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise Invalid("send the file as the body with Content-Type: text/csv")
    report = service.import_items(session, staff=staff, store_id=store_id, rows=parse_csv(body))
    return ImportReportOut(
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=[Rejection(line=r.line, sku=r.sku, reason=r.reason) for r in report.rejected],
    )


@router.get("/v1/items/{item_id}", summary="One item")
def get_item(item_id: IdPath, session: SessionDep, staff: CurrentStaff) -> ItemOut:
    return ItemOut.of(service.get_item(session, staff=staff, item_id=item_id))


@router.patch("/v1/items/{item_id}", summary="Change an item")
def update_item(
    item_id: IdPath, body: ItemUpdate, session: SessionDep, staff: CurrentStaff
) -> ItemOut:
    return ItemOut.of(service.update_item(session, staff=staff, item_id=item_id, data=body))


@router.delete(
    "/v1/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an item"
)
def delete_item(item_id: IdPath, session: SessionDep, staff: CurrentStaff) -> None:
    service.delete_item(session, staff=staff, item_id=item_id)


@router.get("/v1/brands", summary="Brands, shared by every store")
def list_brands(
    session: SessionDep,
    staff: CurrentStaff,
    q: BrandQuery = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[BrandOut]:
    rows = service.list_brands(session, staff=staff, q=q, after=after, limit=limit)
    return Page(
        items=[BrandOut.of(b) for b in rows], next_after=next_cursor([b.id for b in rows], limit)
    )


@router.post(
    "/v1/brands",
    status_code=status.HTTP_201_CREATED,
    summary="Add a brand (200 with the existing one when its slug is taken)",
    responses={200: {"model": BrandOut, "description": "The existing brand of that slug."}},
)
def create_brand(
    body: BrandCreate, response: Response, session: SessionDep, staff: CurrentStaff
) -> BrandOut:
    brand, created = service.create_brand(session, staff=staff, name=body.name)
    if not created:
        response.status_code = status.HTTP_200_OK
    return BrandOut.of(brand)

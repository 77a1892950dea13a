"""A store's funnel: what its offers and looks did, hour by hour, anonymously."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from funnel import service
from funnel.core import Granularity
from funnel.schemas import StoreStats
from kernel.ids import IdPath
from server.deps import CurrentStaff, SessionDep

router = APIRouter(tags=["stats"])


@router.get(
    "/v1/stores/{store_id}/stats",
    summary="A store's funnel per offer and look",
    description=(
        "Anonymous counts per offer and look over the UTC hours overlapping [from, to) "
        "(at most 92 days), per hour or per UTC day, with each offer's lift over its "
        "holdout. Includes the counts of the last minute not yet flushed to the database. "
        "Store keys read their own stores (another store's is not found); the operator any."
    ),
    response_model_by_alias=True,
)
def store_stats(
    store_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    start: Annotated[AwareDatetime, Query(alias="from", description="Start, with a zone.")],
    end: Annotated[AwareDatetime, Query(alias="to", description="End (excluded), with a zone.")],
    granularity: Granularity = Granularity.DAY,
) -> StoreStats:
    stats = service.store_stats(
        session, staff=staff, store_id=store_id, start=start, end=end, granularity=granularity
    )
    return StoreStats.of(stats, store_id=store_id, start=start, end=end, granularity=granularity)

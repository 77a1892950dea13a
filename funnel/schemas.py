"""The stats a store reads: anonymous counts per offer and look, never a user."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from funnel.core import Granularity, SubjectFunnel
from funnel.service import StoreFunnel

METRICS = (
    "Counts by metric: eligible, held_out, suppressed_<reason>, sent, delivered, opened, "
    "redeemed, redeemed_held_out (a held-out shopper who bought anyway). Metrics never "
    "counted are left out."
)


class Bucket(BaseModel):
    start: datetime = Field(description="The bucket's first instant (UTC hour or day).")
    counts: dict[str, int] = Field(description=METRICS)


class LiftOut(BaseModel):
    pushed_conversion: float | None = Field(description="redeemed / sent.")
    control_conversion: float | None = Field(description="redeemed_held_out / held_out.")
    lift: float | None = Field(
        description="(pushed - control) / control; null without both groups or with a "
        "control group that never converted."
    )


class SubjectStats(BaseModel):
    subject: Literal["offer", "look"]
    id: int
    title: str | None = Field(description="The offer's title; null for a look.")
    totals: dict[str, int] = Field(description=METRICS)
    series: list[Bucket] = Field(description="Buckets with counts, in time order.")
    lift: LiftOut

    @classmethod
    def of(cls, funnel: SubjectFunnel, titles: dict[int, str]) -> SubjectStats:
        lift = funnel.lift
        return cls(
            subject="look" if funnel.subject == "look" else "offer",
            id=funnel.subject_id,
            title=titles.get(funnel.subject_id) if funnel.subject == "offer" else None,
            totals=funnel.totals,
            series=[Bucket(start=start, counts=counts) for start, counts in funnel.series],
            lift=LiftOut(
                pushed_conversion=lift.pushed, control_conversion=lift.control, lift=lift.lift
            ),
        )


class StoreStats(BaseModel):
    store_id: int
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    granularity: Granularity
    subjects: list[SubjectStats]

    @classmethod
    def of(
        cls,
        stats: StoreFunnel,
        *,
        store_id: int,
        start: datetime,
        end: datetime,
        granularity: Granularity,
    ) -> StoreStats:
        return cls(
            store_id=store_id,
            start=start,
            end=end,
            granularity=granularity,
            subjects=[SubjectStats.of(f, stats.titles) for f in stats.funnels],
        )

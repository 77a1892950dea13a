from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from broadcast.models import Broadcast
from kernel.text import Body, DeepLink, Slug, Title

MIN_RADIUS_M = 50
MAX_RADIUS_M = 5000
MAX_VALID_FOR_S = 24 * 60 * 60


class BroadcastCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Flash sale: -30% on coats for the next two hours",
                    "body": "Show this at the till.",
                    "segments": ["fashion"],
                    "radius_m": 500,
                    "valid_for_s": 7200,
                }
            ]
        },
    )
    title: Title
    body: Body
    deep_link: DeepLink | None = None
    segments: list[Slug] = Field(
        min_length=1,
        max_length=100,
        description="Segment slugs: only users who consented to one of them are reached.",
    )
    radius_m: int = Field(
        ge=MIN_RADIUS_M,
        le=MAX_RADIUS_M,
        strict=True,
        description=f"Metres around the store ({MIN_RADIUS_M} to {MAX_RADIUS_M}): users "
        "present now in a geofence within it, or in the store's beacon or NFC zones.",
    )
    valid_for_s: int = Field(
        default=7200,
        ge=60,
        le=MAX_VALID_FOR_S,
        strict=True,
        description="How long the flash offer stays valid, in seconds (at most a day).",
    )


class BroadcastCounts(BaseModel):
    targeted: int = Field(description="Users present within the radius when it was sent.")
    sent: int = Field(description="Pushes recorded (delivery follows).")
    suppressed: int = Field(
        description="Held back by the user's quiet hours or daily cap (in their inbox only)."
    )
    skipped: int = Field(
        description="Nothing recorded: no consent, no matching segment, store muted, or "
        "the store's cooldown."
    )


class BroadcastProgress(BaseModel):
    chunks_total: int
    chunks_done: int


class BroadcastOut(BaseModel):
    id: int
    store_id: int
    offer_id: int | None = Field(description="The flash offer (trigger `broadcast`).")
    radius_m: int
    centre: tuple[float, float] = Field(
        description="[longitude, latitude]: the centroid of the store's geofences."
    )
    status: str = Field(description="`queued`, `running`, `done` or `failed`.")
    counts: BroadcastCounts
    progress: BroadcastProgress
    created_at: datetime
    finished_at: datetime | None
    links: dict[str, str]

    @classmethod
    def of(cls, b: Broadcast) -> BroadcastOut:
        links = {"self": f"/v1/stores/{b.store_id}/broadcasts/{b.id}"}
        if b.offer_id is not None:
            links["offer"] = f"/v1/offers/{b.offer_id}"
        return cls(
            id=b.id,
            store_id=b.store_id,
            offer_id=b.offer_id,
            radius_m=b.radius_m,
            centre=(b.centre_lon, b.centre_lat),
            status=b.status,
            counts=BroadcastCounts(
                targeted=b.targeted, sent=b.sent, suppressed=b.suppressed, skipped=b.skipped
            ),
            progress=BroadcastProgress(chunks_total=b.chunks_total, chunks_done=b.chunks_done),
            created_at=b.created_at,
            finished_at=b.finished_at,
            links=links,
        )

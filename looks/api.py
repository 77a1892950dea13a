"""Looks: users post outfits tagged with catalogue items and brands; friends see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from looks import nearby, service
from looks.images import CONTENT_TYPES, ImageStore, local_store
from looks.models import Look
from looks.nearby import MAX_RADIUS_M, MAX_STORES, NearbyStoreOut
from looks.schemas import LookCreate, LookOut, LookUpdate, SuggestionOut, SuggestionsIn
from server.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(tags=["looks"])


def image_store(runtime: RuntimeDep) -> ImageStore:
    return local_store(runtime.settings.var_dir)


Images = Annotated[ImageStore, Depends(image_store)]
NEWEST_FIRST = "Newest first: `after=0` starts at the newest, `next_after` goes further back."


def _one(session: SessionDep, look: Look) -> LookOut:
    return service.present(session, [look])[0]


def _page(session: SessionDep, looks: list[Look], limit: int) -> Page[LookOut]:
    return Page(
        items=service.present(session, looks), next_after=next_cursor([x.id for x in looks], limit)
    )


@router.post(
    "/v1/me/looks",
    status_code=status.HTTP_201_CREATED,
    summary="Post a look",
    description="Tags name catalogue items (active) or brands; an unknown one is a 422 "
    "naming it. Add an image with `PUT /v1/me/looks/{id}/image` or give an https "
    "`image_url`. Only the author's friends see it.",
)
def create_look(body: LookCreate, session: SessionDep, user: CurrentUser) -> LookOut:
    return _one(session, service.create_look(session, user=user, data=body))


@router.get("/v1/me/looks", summary="My looks", description=NEWEST_FIRST)
def my_looks(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> Page[LookOut]:
    return _page(session, service.my_looks(session, user=user, after=after, limit=limit), limit)


@router.get(
    "/v1/me/feed",
    summary="My friends' looks",
    description=f"Looks of my friends (neither blocked). {NEWEST_FIRST}",
)
def feed(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> Page[LookOut]:
    return _page(session, service.feed(session, user=user, after=after, limit=limit), limit)


@router.post(
    "/v1/me/looks/suggestions",
    summary="Tags to suggest for a caption",
    description="Items and brands that the caption and hashtags name (fuzzy matching), "
    "from the catalogues of `store_ids` and my favourite stores, best first; the user "
    "confirms them as tags.",
)
def suggestions(body: SuggestionsIn, session: SessionDep, user: CurrentUser) -> list[SuggestionOut]:
    return [
        SuggestionOut(
            kind=s.candidate.kind.value,
            id=s.candidate.id,
            name=s.candidate.name,
            brand_name=s.candidate.brand_name,
            store_id=store_id,
            score=s.score,
            matched=list(s.matched),
        )
        for s, store_id in service.suggest_tags(session, user=user, data=body)
    ]


@router.get(
    "/v1/looks/{look_id}",
    summary="One look",
    description="Mine, or a friend's (neither blocked); any other look is a 404.",
)
def get_look(look_id: IdPath, session: SessionDep, user: CurrentUser) -> LookOut:
    return _one(session, service.get_look(session, viewer=user, look_id=look_id))


@router.patch("/v1/me/looks/{look_id}", summary="Change my look")
def update_look(
    look_id: IdPath, body: LookUpdate, session: SessionDep, user: CurrentUser, images: Images
) -> LookOut:
    look = service.update_look(session, user=user, look_id=look_id, data=body, images=images)
    return _one(session, look)


@router.delete(
    "/v1/me/looks/{look_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my look",
    description="Its tags and image go with it; points earned through it stay earned.",
)
def delete_look(look_id: IdPath, session: SessionDep, user: CurrentUser, images: Images) -> None:
    service.delete_look(session, user=user, look_id=look_id, images=images)


@router.put(
    "/v1/me/looks/{look_id}/image",
    summary="Upload my look's image",
    description="A JPEG, PNG or WebP (multipart field `image`), re-encoded without its "
    "metadata (EXIF location included); it replaces any image or `image_url`. Over "
    "`VICINITY_LOOK_IMAGE_MAX_BYTES` is a 413; not an image, another type or over "
    "`VICINITY_LOOK_IMAGE_MAX_PIXELS` is a 422.",
)
def upload_image(
    look_id: IdPath,
    image: Annotated[UploadFile, File(description="The image file.")],
    session: SessionDep,
    user: CurrentUser,
    images: Images,
    runtime: RuntimeDep,
) -> LookOut:
    limit = runtime.settings.look_image_max_bytes
    look = service.set_image(
        session,
        user=user,
        look_id=look_id,
        upload=image.file.read(limit + 1),
        images=images,
        max_bytes=limit,
        max_pixels=runtime.settings.look_image_max_pixels,
    )
    return _one(session, look)


@router.get(
    "/v1/looks/{look_id}/image",
    summary="A look's uploaded image",
    description="For its author and the author's friends (neither blocked); else 404.",
    response_class=Response,
    responses={200: {"content": {t: {} for t in CONTENT_TYPES.values()}}},
)
def get_image(look_id: IdPath, session: SessionDep, user: CurrentUser, images: Images) -> Response:
    data, content_type = service.image_of(session, viewer=user, look_id=look_id, images=images)
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=content_type, headers=headers)


@router.post(
    "/v1/me/looks/{look_id}/opened",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="I opened a friend's look",
    description="Counts towards which friends' looks I am shown; a repeat within seconds "
    "counts once. Only a friend's look (neither blocked), else 404; my own is a 422.",
)
def opened(look_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.record_open(session, viewer=user, look_id=look_id, now=datetime.now(UTC))


@router.get(
    "/v1/me/nearby",
    summary="Stores near a point",
    description="Stores with a geofence within `radius_m` metres of the point, nearest "
    "first (`distance_m`: to the nearest geofence, 0 inside), at most `limit`: whether I "
    "favour each, how many of my friends do, and my friends' looks featuring its items or "
    "brands (newest first, at most 3; friends neither blocked). Never a friend's location.",
)
def nearby_stores(
    session: SessionDep,
    user: CurrentUser,
    runtime: RuntimeDep,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude.")],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude.")],
    radius_m: Annotated[int, Query(ge=1, le=MAX_RADIUS_M, description="Metres.")] = 500,
    limit: Annotated[int, Query(ge=1, le=MAX_STORES, description="Most stores listed.")] = 20,
) -> list[NearbyStoreOut]:
    return nearby.nearby_stores(
        session,
        user=user,
        index=runtime.index,
        lat=lat,
        lon=lon,
        radius_m=radius_m,
        limit=limit,
    )

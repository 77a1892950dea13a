"""App user registration and push devices; the operator's API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from accounts import audit, service
from accounts.audit import KeyUseOut
from accounts.models import ApiKey
from accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    DeviceIn,
    DeviceOut,
    UserCreate,
    UserCreated,
)
from kernel.ids import MAX_ID, IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from kernel.principal import Role
from server.deps import CurrentStaff, CurrentUser, Operator, SessionDep

router = APIRouter(prefix="/v1", tags=["me"])


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Register an app user",
    tags=["users"],
)
def register_user(session: SessionDep, body: UserCreate | None = None) -> UserCreated:
    body = body or UserCreate()
    user, token = service.register_user(session, locale=body.locale, timezone=body.timezone)
    return UserCreated(id=user.id, token=token)


@router.post("/me/devices", status_code=status.HTTP_201_CREATED, summary="Register a push device")
def register_device(body: DeviceIn, session: SessionDep, user: CurrentUser) -> DeviceOut:
    device = service.register_device(session, user=user, token=body.token, platform=body.platform)
    return DeviceOut.model_validate(device)


@router.get("/me/devices", summary="My push devices")
def list_devices(session: SessionDep, user: CurrentUser) -> list[DeviceOut]:
    return [DeviceOut.model_validate(d) for d in service.list_devices(session, user=user)]


@router.delete(
    "/me/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Forget a device"
)
def delete_device(device_id: IdPath, session: SessionDep, user: CurrentUser) -> None:
    service.delete_device(session, user=user, device_id=device_id)


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        role=Role(key.role),
        store_ids=sorted(s.id for s in key.stores),
        all_stores=key.all_stores,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
    )


def _created(key: ApiKey, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(**_key_out(key).model_dump(), secret=secret)


@router.get("/keys/me", summary="The calling API key: its name, role and stores", tags=["keys"])
def my_key(session: SessionDep, staff: CurrentStaff) -> ApiKeyOut:
    """What a console needs to know of the key it was given: which pages to show."""
    return _key_out(service.get_api_key(session, key_id=staff.key_id))


@router.get("/keys", summary="List API keys", tags=["keys"])
def list_keys(
    session: SessionDep, _: Operator, after: After = 0, limit: Limit = 50
) -> Page[ApiKeyOut]:
    rows = service.list_api_keys(session, after=after, limit=limit)
    return Page(
        items=[_key_out(k) for k in rows], next_after=next_cursor([k.id for k in rows], limit)
    )


@router.post(
    "/keys", status_code=status.HTTP_201_CREATED, summary="Create an API key", tags=["keys"]
)
def create_key(body: ApiKeyCreate, session: SessionDep, _: Operator) -> ApiKeyCreated:
    key, secret = service.create_api_key(
        session,
        name=body.name,
        role=body.role,
        store_ids=body.store_ids,
        all_stores=body.all_stores,
    )
    return _created(key, secret)


@router.post("/keys/{key_id}/rotate", summary="Give an API key a new secret", tags=["keys"])
def rotate_key(key_id: IdPath, session: SessionDep, _: Operator) -> ApiKeyCreated:
    """Same key, same scope, a new secret; the old secret stops working at once."""
    key, secret = service.rotate_api_key(session, key_id=key_id)
    return _created(key, secret)


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    tags=["keys"],
)
def revoke_key(key_id: IdPath, session: SessionDep, _: Operator) -> None:
    service.revoke_api_key(session, key_id=key_id)


@router.get("/audit", summary="The API keys' audit log (operator)", tags=["keys"])
def list_key_uses(
    session: SessionDep,
    _: Operator,
    key_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="One key's uses.")] = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[KeyUseOut]:
    """Every request a staff key authenticated, oldest first: the key, its role and stores
    then, the method, route and path, the status answered, when and from which address."""
    rows = audit.list_uses(session, key_id=key_id, after=after, limit=limit)
    return Page(
        items=[KeyUseOut.model_validate(r) for r in rows],
        next_after=next_cursor([r.id for r in rows], limit),
    )

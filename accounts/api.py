"""App user registration and push devices."""

from __future__ import annotations

from fastapi import APIRouter, status

from accounts import service
from accounts.schemas import DeviceIn, DeviceOut, UserCreate, UserCreated
from kernel.ids import IdPath
from server.deps import CurrentUser, SessionDep

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

"""Request dependencies: the transaction, the runtime, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.service import API_KEY_PREFIX, USER_TOKEN_PREFIX, staff_for_key, user_for_token
from accounts.tokens import AppCaller, user_tokens
from kernel.db import unit_of_work
from kernel.errors import Forbidden, Unauthorized
from kernel.principal import Role, Staff
from notifications.service import decide_events
from notifications.tasks import enqueue_delivery
from presence.flow import DecideEvents
from redemptions.service import present
from server.audit import note_staff
from server.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: a plain attribute read needs no trip to the thread pool.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def decision(runtime: Runtime) -> DecideEvents:
    """The decision the presence flow hands its events to: wired here, in the app, so the
    event sources (geofences, beacons) never import the notifications domain."""
    return partial(
        decide_events, policy_version=runtime.settings.policy_version, enqueue=enqueue_delivery
    )


class PresentCode(Protocol):
    """A redemption code shown at a store by its owner (an NFC tap): its offer, when."""

    def __call__(
        self, session: Session, *, user_id: int, code: str, store_id: int, now: datetime
    ) -> tuple[int | None, datetime]: ...


def _present(
    session: Session, *, user_id: int, code: str, store_id: int, now: datetime
) -> tuple[int | None, datetime]:
    used = present(session, user_id=user_id, code=code, store_id=store_id, now=now)
    return used.offer_id, used.used_at or now


# Wired here, in the app, so the NFC domain (below redemptions) never imports them.
present_code: PresentCode = _present


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """The request owns the transaction: services flush, this commits (or rolls back)."""
    with unit_of_work(runtime.sessions) as session:
        yield session


# Function scope: commit before the response is sent, so a failed commit is an error answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Two schemes, so clients and the docs see which credential each operation takes.
_user_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="UserToken",
    description="App user: the `vu_…` token from `POST /v1/users`.",
)
_staff_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffKey",
    description="Store staff, field tech or operator: a `vk_…` API key.",
)


def _credential(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return creds.credentials


def current_user(
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_user_bearer)],
) -> User:
    token = _credential(creds)
    if token.startswith(API_KEY_PREFIX):
        raise Forbidden("this endpoint is for app users; an API key cannot act as a user")
    if not token.startswith(USER_TOKEN_PREFIX):
        raise Unauthorized("malformed user token")
    return user_for_token(session, token)


async def app_caller(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_user_bearer)],
) -> AppCaller:
    """The hot paths' caller, without a thread-pool hop: from the token cache (valid
    because those paths lock presence, which erasure seals; see ``accounts.tokens``), else
    resolved in the endpoint's own hop."""
    token = _credential(creds)
    if token.startswith(API_KEY_PREFIX):
        raise Forbidden("this endpoint is for app users; an API key cannot act as a user")
    if not token.startswith(USER_TOKEN_PREFIX):
        raise Unauthorized("malformed user token")
    return AppCaller(token, user_tokens.get(token))


def current_staff(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
) -> Staff:
    token = _credential(creds)
    if token.startswith(USER_TOKEN_PREFIX):
        raise Forbidden("this endpoint needs a staff API key, not a user token")
    if not token.startswith(API_KEY_PREFIX):
        raise Unauthorized("malformed API key")
    staff = staff_for_key(session, token)
    note_staff(request.scope, staff)  # the audit log records the request once answered
    return staff


CurrentUser = Annotated[User, Depends(current_user)]
CurrentAppUser = Annotated[AppCaller, Depends(app_caller)]
CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_operator(staff: CurrentStaff) -> Staff:
    if staff.role is not Role.OPERATOR:
        raise Forbidden("this endpoint is for the operator")
    return staff


Operator = Annotated[Staff, Depends(require_operator)]

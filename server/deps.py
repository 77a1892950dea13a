"""Request dependencies: the transaction, the runtime, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounts.models import User
from accounts.service import (
    API_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    Role,
    Staff,
    staff_for_key,
    user_for_token,
)
from accounts.tokens import user_id_for_token, user_tokens
from kernel.db import unit_of_work
from kernel.errors import Forbidden, Unauthorized
from server.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: a plain attribute read needs no trip to the thread pool.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """The request owns the transaction: services flush, this commits (or rolls back)."""
    with unit_of_work(runtime.sessions) as session:
        yield session


# Function scope: commit before the response is sent, so a failed commit is an error answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="`vu_…` user token or `vk_…` API key")


def _credential(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return creds.credentials


def current_user(
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    token = _credential(creds)
    if token.startswith(API_KEY_PREFIX):
        raise Forbidden("this endpoint is for app users; an API key cannot act as a user")
    if not token.startswith(USER_TOKEN_PREFIX):
        raise Unauthorized("malformed user token")
    return user_for_token(session, token)


async def current_user_id(
    runtime: RuntimeDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The hot paths' caller: from the token cache (at most a second old, see
    ``accounts.tokens``), so a request that needs no database opens no connection."""
    token = _credential(creds)
    if token.startswith(API_KEY_PREFIX):
        raise Forbidden("this endpoint is for app users; an API key cannot act as a user")
    if not token.startswith(USER_TOKEN_PREFIX):
        raise Unauthorized("malformed user token")
    user_id = user_tokens.get(token)
    if user_id is None:
        user_id = await run_in_threadpool(_lookup_user_id, runtime, token)
        user_tokens.put(token, user_id)
    return user_id


def _lookup_user_id(runtime: Runtime, token: str) -> int:
    with runtime.sessions() as session:
        return user_id_for_token(session, token)


def current_staff(
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    token = _credential(creds)
    if token.startswith(USER_TOKEN_PREFIX):
        raise Forbidden("this endpoint needs a staff API key, not a user token")
    if not token.startswith(API_KEY_PREFIX):
        raise Unauthorized("malformed API key")
    return staff_for_key(session, token)


CurrentUser = Annotated[User, Depends(current_user)]
CurrentUserId = Annotated[int, Depends(current_user_id)]
CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_operator(staff: CurrentStaff) -> Staff:
    if staff.role is not Role.OPERATOR:
        raise Forbidden("this endpoint is for the operator")
    return staff


Operator = Annotated[Staff, Depends(require_operator)]

"""Registration of app users and devices, API keys, and resolving bearer credentials."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import ApiKey, Device, User
from kernel.db import utcnow
from kernel.errors import Forbidden, NotFound, Unauthorized
from stores.models import Store

USER_TOKEN_PREFIX = "vu_"
API_KEY_PREFIX = "vk_"


class Role(StrEnum):
    OPERATOR = "operator"
    STORE = "store"
    TECH = "tech"


def hash_secret(secret: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough, no slow KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Staff:
    """An authenticated API key: its role and, for store staff, the stores it may touch."""

    key_id: int
    role: Role
    store_ids: frozenset[int]

    def can_manage(self, store_id: int) -> bool:
        return self.role is Role.OPERATOR or (
            self.role is Role.STORE and store_id in self.store_ids
        )

    def require_store(self, store_id: int) -> None:
        if not self.can_manage(store_id):
            raise Forbidden(f"this key may not manage store {store_id}")


def register_user(session: Session, *, locale: str, timezone: str) -> tuple[User, str]:
    token = USER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(token_hash=hash_secret(token), locale=locale, timezone=timezone)
    session.add(user)
    session.flush()
    return user, token


def user_for_token(session: Session, token: str) -> User:
    user = session.scalar(select(User).where(User.token_hash == hash_secret(token)))
    if user is None:
        raise Unauthorized("unknown or revoked user token")
    return user


def create_api_key(
    session: Session, *, name: str, role: Role, store_ids: list[int]
) -> tuple[ApiKey, str]:
    stores = list(session.scalars(select(Store).where(Store.id.in_(store_ids))))
    missing = set(store_ids) - {s.id for s in stores}
    if missing:
        raise NotFound(f"no store with id {sorted(missing)[0]}")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role.value, key_hash=hash_secret(secret), stores=stores)
    session.add(key)
    session.flush()
    return key, secret


def staff_for_key(session: Session, secret: str) -> Staff:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("unknown or revoked API key")
    return Staff(key.id, Role(key.role), frozenset(s.id for s in key.stores))


def register_device(session: Session, *, user: User, token: str, platform: str) -> Device:
    """Idempotent: a token already known moves to this user (phones change hands)."""
    device = session.scalar(select(Device).where(Device.token == token))
    if device is None:
        device = Device(user_id=user.id, token=token, platform=platform)
        session.add(device)
    else:
        device.user_id, device.platform, device.last_seen_at = user.id, platform, utcnow()
    session.flush()
    return device


def list_devices(session: Session, *, user: User) -> list[Device]:
    return list(
        session.scalars(select(Device).where(Device.user_id == user.id).order_by(Device.id))
    )


def delete_device(session: Session, *, user: User, device_id: int) -> None:
    device = session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise NotFound(f"no device {device_id} for this user")
    session.delete(device)
    session.flush()


def drop_token(session: Session, *, token: str) -> None:
    device = session.scalar(select(Device).where(Device.token == token))
    if device is not None:
        session.delete(device)
        session.flush()

"""Registration of app users and devices, API keys, and resolving bearer credentials."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import ApiKey, Device, User
from kernel.db import utcnow
from kernel.errors import Conflict, Invalid, NotFound, Unauthorized
from kernel.pagination import keyset
from kernel.principal import Role, Staff
from stores.models import Store

USER_TOKEN_PREFIX = "vu_"
API_KEY_PREFIX = "vk_"


def hash_secret(secret: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough, no slow KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


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


def _check_scope(role: Role, store_ids: list[int], all_stores: bool) -> None:
    """A key's scope is said out loud: a tech key bound to nothing must not mean the fleet."""
    if role is Role.OPERATOR:
        if store_ids or all_stores:
            raise Invalid("an operator key acts on every store: give it no stores")
    elif role is Role.STORE:
        if all_stores:
            raise Invalid("a store key names its stores; all stores is for field-tech keys")
        if not store_ids:
            raise Invalid("a store key needs at least one store (--store ID)")
    elif store_ids and all_stores:
        raise Invalid("a tech key has either stores or all stores, not both")
    elif not store_ids and not all_stores:
        raise Invalid(
            "a tech key needs an explicit scope: its stores (--store ID, repeatable) "
            "or the whole fleet (--all-stores)"
        )


def _new_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def create_api_key(
    session: Session, *, name: str, role: Role, store_ids: list[int], all_stores: bool = False
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned once and only its hash is kept."""
    _check_scope(role, store_ids, all_stores)
    stores = list(session.scalars(select(Store).where(Store.id.in_(store_ids))))
    missing = set(store_ids) - {s.id for s in stores}
    if missing:
        raise NotFound(f"no store with id {sorted(missing)[0]}")
    secret = _new_secret()
    key = ApiKey(
        name=name,
        role=role.value,
        key_hash=hash_secret(secret),
        stores=stores,
        all_stores=all_stores,
    )
    session.add(key)
    session.flush()
    return key, secret


def list_api_keys(session: Session, *, after: int, limit: int) -> list[ApiKey]:
    """Every key, revoked ones included (they say when), by id."""
    return list(session.scalars(keyset(select(ApiKey), ApiKey.id, after=after, limit=limit)))


def get_api_key(session: Session, *, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


def rotate_api_key(session: Session, *, key_id: int) -> tuple[ApiKey, str]:
    """A new secret for the same key and scope; the old secret stops working at once."""
    key = get_api_key(session, key_id=key_id)
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is revoked; create a new key instead")
    secret = _new_secret()
    key.key_hash, key.rotated_at = hash_secret(secret), utcnow()
    session.flush()
    return key, secret


def revoke_api_key(session: Session, *, key_id: int) -> ApiKey:
    """Idempotent: revoking a revoked key keeps its first revocation time."""
    key = get_api_key(session, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def staff_for_key(session: Session, secret: str) -> Staff:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("unknown or revoked API key")
    return Staff(key.id, Role(key.role), frozenset(s.id for s in key.stores), key.all_stores)


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

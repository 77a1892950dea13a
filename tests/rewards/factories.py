"""The rewards world: store S with a catalogue item and a reward rule, creator A whose
look features the item, buyer B who opened it; built through the services and models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_user
from catalogue.models import Brand, Item
from kernel.db import unit_of_work, utcnow
from kernel.principal import Role, Staff
from looks.models import Look, LookOpen, LookTag
from redemptions.service import issue_purchase_token
from rewards.models import LedgerAccount, LedgerTransfer
from social.models import Profile
from stores.models import Store
from tests.factories import api_key, auth

RULE: dict[str, Any] = {
    "currency": "EUR",
    "points_per_unit": 2,
    "per_purchase_cap": 150,
    "per_creator_daily_cap": 400,
    "attribution_days": 7,
    "return_days": 14,
}


@dataclass
class World:
    store_id: int
    key: str  # the store's staff key
    staff: Staff
    item_id: int
    sku: str
    brand_id: int
    creator_id: int
    creator_token: str
    buyer_id: int
    buyer_token: str
    look_id: int


def user(session: Session, name: str | None = None) -> tuple[int, str]:
    person, token = register_user(session, locale="en", timezone="Europe/Paris")
    session.flush()
    if name is not None:
        session.add(Profile(user_id=person.id, display_name=name))
    return person.id, token


def store_with_item(
    session: Session, name: str = "Maison S", sku: str = "BOOT-42"
) -> tuple[int, int, int]:
    """A store, a brand and an item of it in the store's catalogue."""
    store = Store(name=name)
    brand = Brand(name=f"Brand of {name}", slug=f"brand-{name.lower().replace(' ', '-')}")
    session.add_all([store, brand])
    session.flush()
    item = Item(
        store_id=store.id,
        sku=sku,
        name="Boots",
        brand_id=brand.id,
        price_minor=5990,
        currency="EUR",
    )
    session.add(item)
    session.flush()
    return store.id, brand.id, item.id


def look(
    session: Session, creator_id: int, *, item_id: int | None = None, brand_id: int | None = None
) -> int:
    tag = LookTag(item_id=item_id) if item_id is not None else LookTag(brand_id=brand_id)
    new = Look(user_id=creator_id, caption="my boots", tags=[tag])
    session.add(new)
    session.flush()
    return new.id


def opened(session: Session, look_id: int, user_id: int, at: datetime) -> None:
    creator = session.get(Look, look_id)
    assert creator is not None
    session.add(
        LookOpen(look_id=look_id, creator_id=creator.user_id, user_id=user_id, opened_at=at)
    )
    session.flush()


def world(
    client: TestClient, sessions: sessionmaker[Session], *, rule: dict[str, Any] | None = RULE
) -> World:
    """B opened A's look featuring S's item yesterday; S set ``rule`` (None: no rule)."""
    with unit_of_work(sessions) as session:
        store_id, brand_id, item_id = store_with_item(session)
        creator_id, creator_token = user(session, "Ann")
        buyer_id, buyer_token = user(session, "Bob")
        look_id = look(session, creator_id, item_id=item_id)
        opened(session, look_id, buyer_id, utcnow() - timedelta(days=1))
    key = api_key(sessions, Role.STORE, [store_id])
    if rule is not None:
        r = client.put(f"/v1/stores/{store_id}/reward-rule", json=rule, headers=auth(key))
        assert r.status_code == 200, r.text
    staff = Staff(key_id=0, role=Role.STORE, store_ids=frozenset({store_id}))
    return World(
        store_id,
        key,
        staff,
        item_id,
        "BOOT-42",
        brand_id,
        creator_id,
        creator_token,
        buyer_id,
        buyer_token,
        look_id,
    )


def token(sessions: sessionmaker[Session], user_id: int, store_id: int) -> str:
    """A purchase token the user's app shows at the store's till."""
    with unit_of_work(sessions) as session:
        return issue_purchase_token(session, user_id=user_id, store_id=store_id, now=utcnow()).code


def purchase(
    code: str, spid: str = "till-1", amount: str = "59.90", sku: str = "BOOT-42"
) -> dict[str, Any]:
    return {
        "code": code,
        "store_purchase_id": spid,
        "amount": amount,
        "currency": "EUR",
        "items": [{"sku": sku}],
    }


def points(client: TestClient, user_token: str) -> dict[str, Any]:
    r = client.get("/v1/me/points", headers=auth(user_token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def books(sessions: sessionmaker[Session]) -> tuple[int, list[tuple[str, int]]]:
    """How many lines, and every (account key, balance)."""
    with sessions() as session:
        lines = session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0
        balances = session.execute(
            select(LedgerAccount.key, LedgerAccount.balance).order_by(LedgerAccount.key)
        )
        return int(lines), [(k, b) for k, b in balances]


def assert_books_balance(sessions: sessionmaker[Session]) -> None:
    """Every balance is the sum of its entries, the balances sum to zero, and no user's
    balance is below zero."""
    with sessions() as session:
        for account in session.scalars(select(LedgerAccount)):
            incoming = session.scalar(
                select(func.coalesce(func.sum(LedgerTransfer.amount), 0)).where(
                    LedgerTransfer.destination_account_id == account.id
                )
            )
            outgoing = session.scalar(
                select(func.coalesce(func.sum(LedgerTransfer.amount), 0)).where(
                    LedgerTransfer.source_account_id == account.id
                )
            )
            assert account.balance == (incoming or 0) - (outgoing or 0), account.key
            if account.kind.startswith("user_"):
                assert account.balance >= 0, account.key
        assert (session.scalar(select(func.coalesce(func.sum(LedgerAccount.balance), 0))) or 0) == 0

"""The whole funnel through the API: a shopper walks in, is pushed, opens the push and
redeems its code at the till; the store reads each step once, flushed or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnel.core import DELIVERED, ELIGIBLE, OPENED, REDEEMED, SENT
from funnel.tasks import flush_counts
from kernel.config import Settings
from redemptions.models import Code
from tests.factories import auth, clock, new_shopper, open_shop, visit


def test_walk_in_push_open_redeem(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Atelier", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    [note_id] = visit(client, token, shop, next(clock(start_s_ago=30)))["notifications"]
    flush_counts.delay()  # the decision's and the delivery's counts reach the table

    assert client.post(f"/v1/me/notifications/{note_id}/opened", headers=auth(token)).is_success
    with sessions() as session:
        code = session.scalars(select(Code.code).where(Code.notification_id == note_id)).one()
    r = client.post(
        f"/v1/stores/{shop.store_id}/redemptions", json={"code": code}, headers=auth(shop.staff)
    )
    assert r.status_code == 200, r.text

    now = datetime.now(UTC)
    span = {"from": now - timedelta(hours=1), "to": now + timedelta(hours=1)}
    query = {k: v.isoformat() for k, v in span.items()}
    r = client.get(f"/v1/stores/{shop.store_id}/stats", params=query, headers=auth(shop.staff))
    assert r.status_code == 200, r.text
    (offer,) = r.json()["subjects"]
    assert offer["id"] == shop.offer_id
    assert offer["totals"] == {ELIGIBLE: 1, SENT: 1, DELIVERED: 1, OPENED: 1, REDEEMED: 1}
    assert offer["lift"]["pushed_conversion"] == 1.0
    assert offer["lift"]["lift"] is None  # no holdout, no baseline

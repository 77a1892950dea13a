"""Redemption codes: issued to a user for a store, claimed once by that store.

Other domains call ``issue_offer_code`` (when an offer is pushed), ``issue_purchase_token``,
``issue_spend_code`` and ``claim`` (rewards, for spend codes and purchase tokens), and
``buy_now_link``. Every function takes the caller's session, flushes and never commits.

Refusals when a store claims a code: unknown, malformed or another store's code → 404
(the same answer, so codes cannot be probed across stores); a kind the endpoint does not
confirm → 422; already used → 409 "already redeemed at <time>"; expired (its own expiry or
its offer's end, whichever is first) or its offer deleted → 409 naming when or why. 409
rather than 410: the error vocabulary has one code per status and no 410, and to the till
both mean "this code cannot be used now".
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy import CursorResult, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from events.core import OFFER_REDEEMED
from events.service import emit
from funnel.service import count_redemption
from kernel.config import Settings
from kernel.db import utcnow
from kernel.errors import Busy, Conflict, Invalid, NotFound
from kernel.principal import Staff
from offers.models import Offer
from redemptions import repository
from redemptions.core import (
    PURCHASE_TTL,
    SPEND_TTL,
    Kind,
    effective_expiry,
    new_code,
    offer_code_expiry,
    parse_code,
)
from redemptions.models import Code
from redemptions.repository import Listed
from stores.models import Store
from stores.service import get_store

# A fresh draw collides with a live code about once in 10⁹ issues at a million codes;
# a few draws make a failure practically impossible without looping forever.
_DRAWS = 5
# The app asks for a purchase token at the till; more unused ones than this means a
# client bug (or abuse) filling the table, not a shopper.
MAX_UNUSED_PURCHASE_TOKENS = 10
# Web schemes cannot carry the app's own "buy" host; the app's scheme can.
_WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_APP_SCHEME = "vicinity"
_WHAT = {
    Kind.OFFER.value: "an offer's code",
    Kind.SPEND.value: "a code spending points",
    Kind.PURCHASE.value: "a purchase token",
}


def _insert(session: Session, values: dict[str, Any]) -> Code | None:
    """Insert one code; ``None`` when a unique constraint (the code drawn, or the
    notification's one code) already holds the row, whoever inserted it."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(Code).values(**values).on_conflict_do_nothing().returning(Code)
    return session.scalars(statement).first()


def _issue(session: Session, values: dict[str, Any]) -> Code:
    notification_id = values.get("notification_id")
    for _ in range(_DRAWS):
        code = _insert(session, {**values, "code": new_code()})
        if code is not None:
            return code
        if notification_id is not None:
            # Another delivery attempt issued this notification's code first.
            existing = repository.of_notification(session, notification_id)
            if existing is not None:
                return existing
    raise Busy("could not draw an unused redemption code; try again")


def issue_offer_code(
    session: Session,
    *,
    user_id: int,
    store_id: int,
    offer_id: int,
    notification_id: int | None,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> Code:
    """The one code of a pushed offer: issuing it again for the same notification returns
    the same code. ``expires_at`` is the offer's end; none means 30 days from ``now``."""
    if notification_id is not None:
        existing = repository.of_notification(session, notification_id)
        if existing is not None:
            return existing
    values = {
        "kind": Kind.OFFER.value,
        "user_id": user_id,
        "store_id": store_id,
        "offer_id": offer_id,
        "notification_id": notification_id,
        "expires_at": offer_code_expiry(expires_at, now or utcnow()),
    }
    return _issue(session, values)


def issue_purchase_token(session: Session, *, user_id: int, store_id: int, now: datetime) -> Code:
    """A token the app shows at the till so the store can report the purchase (15 min)."""
    values = {
        "kind": Kind.PURCHASE.value,
        "user_id": user_id,
        "store_id": store_id,
        "expires_at": now + PURCHASE_TTL,
    }
    return _issue(session, values)


def issue_spend_code(
    session: Session, *, user_id: int, store_id: int, points: int, now: datetime
) -> Code:
    """A code spending ``points`` at the store (15 min). The caller has checked the
    balance; the ledger is written when the store claims the code."""
    if points <= 0:
        raise Invalid(f"points to spend must be positive, not {points}")
    values = {
        "kind": Kind.SPEND.value,
        "user_id": user_id,
        "store_id": store_id,
        "points": points,
        "expires_at": now + SPEND_TTL,
    }
    return _issue(session, values)


def claim(
    session: Session, *, code: str, store_id: int, kinds: Collection[str], now: datetime
) -> Code:
    """Use the store's code once, marking ``used_at``; refusals in the module docstring.

    The row is locked first, so of two claims racing for one code the second waits for
    the first's transaction and then finds the code used. The guarded UPDATE keeps that
    true where rows cannot be locked (SQLite).
    """
    try:
        wanted = parse_code(code)
    except ValueError:
        raise NotFound(f"no such redemption code at store {store_id}") from None
    found = repository.for_claim(session, code=wanted, store_id=store_id)
    if found is None:
        raise NotFound(f"no redemption code {wanted} at store {store_id}")
    if found.kind not in kinds:
        accepted = " or ".join(sorted(kinds)) or "no"
        raise Invalid(f"{wanted} is {_WHAT[found.kind]}; this confirms {accepted} codes")
    if found.used_at is not None:
        raise Conflict(f"code {wanted} was already redeemed at {found.used_at.isoformat()}")
    offer = session.get(Offer, found.offer_id) if found.offer_id is not None else None
    if found.kind == Kind.OFFER.value and offer is None:
        raise Conflict(f"code {wanted} cannot be used: its offer was withdrawn")
    ends = effective_expiry(found.expires_at, None if offer is None else offer.ends_at)
    if ends <= now:
        raise Conflict(f"code {wanted} expired at {ends.isoformat()}")
    mark = (
        update(Code)
        .where(Code.id == found.id, Code.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(mark)).rowcount != 1:
        raise Conflict(f"code {wanted} was redeemed a moment ago")
    set_committed_value(found, "used_at", now)
    count_redemption(
        session, store_id=store_id, user_id=found.user_id, offer_id=found.offer_id, at=now
    )
    if found.kind == Kind.OFFER.value:
        payload = {"offer_id": found.offer_id}
        emit(
            session,
            name=OFFER_REDEEMED,
            store_id=store_id,
            user_id=found.user_id,
            payload=payload,
            at=now,
        )
    return found


def present(session: Session, *, user_id: int, code: str, store_id: int, now: datetime) -> Code:
    """An offer code the user's own phone presents by tapping the store's NFC tag: used
    once like a code confirmed at the till, but only by its owner (another user's code
    answers like an unknown one, 404). The tag being in the store stands for the staff."""
    try:
        wanted = parse_code(code)
    except ValueError:
        raise NotFound(f"no such redemption code at store {store_id}") from None
    found = repository.for_claim(session, code=wanted, store_id=store_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"no redemption code {wanted} at store {store_id}")
    return claim(session, code=wanted, store_id=store_id, kinds={Kind.OFFER.value}, now=now)


def buy_now_link(settings: Settings, *, offer_id: int, code: str) -> str:
    """The app's deep link that opens the offer's checkout with the code filled in,
    in the first configured scheme of the app's own (``https`` cannot name the app)."""
    scheme = next(
        (s for s in settings.deep_link_schemes if s.lower() not in _WEB_SCHEMES),
        DEFAULT_APP_SCHEME,
    )
    return f"{scheme}://buy?{urlencode({'offer': offer_id, 'code': code})}"


# The API's use cases.


def my_codes(
    session: Session, *, user_id: int, now: datetime, after: int, limit: int
) -> list[Listed]:
    return repository.live_of_user(session, user_id=user_id, now=now, after=after, limit=limit)


def my_code(session: Session, *, user_id: int, code: str) -> Code:
    """One of the user's codes; another user's answers like a missing one."""
    return repository.of_user(session, user_id=user_id, code=code)


def request_purchase_token(
    session: Session, *, user_id: int, store_id: int, now: datetime
) -> Listed:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}")
    unused = repository.count_unused(session, user_id=user_id, kind=Kind.PURCHASE, now=now)
    if unused >= MAX_UNUSED_PURCHASE_TOKENS:
        raise Conflict(
            f"you already hold {unused} unused purchase tokens; "
            f"show one of them or wait until they expire ({PURCHASE_TTL.seconds // 60} min)"
        )
    token = issue_purchase_token(session, user_id=user_id, store_id=store_id, now=now)
    return Listed(token, store.name, None, None)


def redeem_offer(
    session: Session, *, staff: Staff, store_id: int, code: str, now: datetime
) -> tuple[Code, Offer]:
    """Store staff confirm an offer's code at one of their stores."""
    get_store(session, staff=staff, store_id=store_id)
    used = claim(session, code=code, store_id=store_id, kinds={Kind.OFFER.value}, now=now)
    offer = session.get(Offer, used.offer_id) if used.offer_id is not None else None
    assert offer is not None, "claim refuses an offer's code whose offer is gone"
    return used, offer

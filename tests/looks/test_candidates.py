"""``candidate_looks`` on the real database: friends' looks featuring what a store sells,
never the blocked's, deleted ones, or ones whose items are no longer sold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from kernel.db import unit_of_work
from looks.models import Look, LookOpen, LookTag
from looks.rank import LookCandidate, rank_looks
from looks.repository import candidate_looks
from tests.looks.factories import (
    Person,
    befriend,
    block,
    brand,
    item,
    person,
    set_active,
    store,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def look(
    sessions: sessionmaker[Session],
    author: Person,
    *,
    items: tuple[int, ...] = (),
    brands: tuple[int, ...] = (),
    days_ago: float = 1.0,
) -> int:
    with unit_of_work(sessions) as session:
        row = Look(
            user_id=author.id,
            caption="",
            hashtags=[],
            created_at=NOW - timedelta(days=days_ago),
            tags=[LookTag(item_id=i) for i in items] + [LookTag(brand_id=b) for b in brands],
        )
        session.add(row)
        session.flush()
        return row.id


def opened(sessions: sessionmaker[Session], viewer: Person, look_id: int, creator: Person) -> None:
    with unit_of_work(sessions) as session:
        session.add(LookOpen(look_id=look_id, creator_id=creator.id, user_id=viewer.id))


def candidates(
    sessions: sessionmaker[Session], viewer: Person, store_id: int
) -> dict[int, LookCandidate]:
    with unit_of_work(sessions) as session:
        found = candidate_looks(session, viewer_id=viewer.id, store_id=store_id, now=NOW)
    return {c.look_id: c for c in found}


def test_what_the_decision_may_show_and_what_never(sessions: sessionmaker[Session]) -> None:
    me, ann, bob, eve, cat = (person(sessions, n) for n in ("Me", "Ann", "Bob", "Eve", "Cat"))
    for friend in (ann, bob, cat):
        befriend(sessions, me, friend)
    block(sessions, cat, me)  # Cat blocked me: her looks never show
    here, there = store(sessions, "Here"), store(sessions, "There")
    adidas, veja = brand(sessions, "Adidas"), brand(sessions, "Veja")
    stan = item(sessions, here, "Stan Smith", brand_id=adidas, segment="shoes")
    dress = item(sessions, here, "Linen Dress", segment="womenswear")
    coat = item(sessions, here, "Old Coat", segment="menswear")
    elsewhere = item(sessions, there, "Rain Jacket", brand_id=veja, segment="outdoor")

    shoes_and_dress = look(sessions, ann, items=(stan, dress, elsewhere), days_ago=2)
    by_brand = look(sessions, bob, brands=(adidas,))
    only_elsewhere = look(sessions, ann, items=(elsewhere,), brands=(veja,))
    coat_look = look(sessions, bob, items=(coat,))
    from_stranger = look(sessions, eve, items=(stan,))
    from_blocker = look(sessions, cat, items=(stan,))
    too_old = look(sessions, ann, items=(stan,), days_ago=200)
    deleted = look(sessions, bob, items=(dress,))
    with unit_of_work(sessions) as session:
        session.delete(session.get(Look, deleted))
    set_active(sessions, coat, active=False)  # no longer sold
    mine = look(sessions, me, items=(stan,))
    opened(sessions, me, by_brand, bob)
    opened(sessions, me, coat_look, bob)

    found = candidates(sessions, me, here)
    assert set(found) == {shoes_and_dress, by_brand}
    assert not {
        only_elsewhere,
        coat_look,
        from_stranger,
        from_blocker,
        too_old,
        deleted,
        mine,
    } & set(found)

    first = found[shoes_and_dress]
    assert first.creator_id == ann.id
    assert first.creator_name == "Ann"
    assert first.created_at == (NOW - timedelta(days=2)).timestamp()
    # The segments of its items at this store; the jacket sold elsewhere adds none.
    assert first.segments == {"shoes", "womenswear"}
    assert first.opens_of_creator == 0
    second = found[by_brand]
    assert second.segments == frozenset()
    assert second.opens_of_creator == 2  # opens of any of Bob's looks count

    # A friend who blocked nobody but whom I blocked: same.
    block(sessions, me, bob)
    assert set(candidates(sessions, me, here)) == {shoes_and_dress}
    # The store stops selling Adidas and the dress: the shoes still count.
    set_active(sessions, dress, active=False)
    assert candidates(sessions, me, here)[shoes_and_dress].segments == {"shoes"}
    set_active(sessions, stan, active=False)
    assert candidates(sessions, me, here) == {}


def test_candidates_feed_the_ranking(sessions: sessionmaker[Session]) -> None:
    me, ann = person(sessions, "Me"), person(sessions, "Ann")
    befriend(sessions, me, ann)
    here = store(sessions, "Here")
    stan = item(sessions, here, "Stan Smith", segment="shoes")
    dress = item(sessions, here, "Linen Dress", segment="womenswear")
    older_shoes = look(sessions, ann, items=(stan,), days_ago=3)
    newer_dress = look(sessions, ann, items=(dress,), days_ago=1)
    with unit_of_work(sessions) as session:
        found = candidate_looks(session, viewer_id=me.id, store_id=here, now=NOW)
    shoes = "shoes"
    ranked = rank_looks(found, frozenset({shoes}), NOW.timestamp(), labels={shoes: "Shoes"})
    assert [r.candidate.look_id for r in ranked] == [older_shoes, newer_dress]
    assert ranked[0].reason == (
        "shares Shoes with your interests; posted 3 days ago; you have not opened Ann's looks yet"
    )


def test_no_friends_no_candidates(sessions: sessionmaker[Session]) -> None:
    me = person(sessions, "Me")
    with unit_of_work(sessions) as session:
        assert session.get(User, me.id) is not None
        assert candidate_looks(session, viewer_id=me.id, store_id=1, now=NOW) == []

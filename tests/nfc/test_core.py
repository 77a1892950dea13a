"""The pure tap rules: UIDs, tap times, and a tap as a presence step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import Invalid
from nfc.core import normalise_uid, tap, tap_time, zone_of
from presence.confidence import Confidence
from presence.core import Presence, Transition, ZoneEvent, expire

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "uid"),
    [
        ("04:a2:2b:1c:5d:80:4d", "04A22B1C5D804D"),
        ("04-A2-2B-1C-5D-80-4D", "04A22B1C5D804D"),
        ("08 1a 2b 3c", "081A2B3C"),
        ("0102030405060708090A", "0102030405060708090A"),
    ],
)
def test_uids_are_kept_as_upper_case_hex(text: str, uid: str) -> None:
    assert normalise_uid(text) == uid


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0102030",
        "0102030405",
        "01020304050607080",
        "GG020304",
        "\uff10\uff11\uff10\uff12\uff10\uff13\uff10\uff14",  # full-width digits
        "0x010203",
    ],
)
def test_anything_but_4_7_or_10_bytes_of_hex_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="NFC tag UID"):
        normalise_uid(text)


@given(st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_any_printed_form_of_a_uid_normalises_to_the_same(raw: bytes) -> None:
    assert normalise_uid(":".join(f"{b:02x}" for b in raw)) == raw.hex().upper()


def test_tap_times() -> None:
    assert tap_time(T0 - 10, now=T0, max_age_s=900, max_skew_s=30) == T0 - 10
    assert tap_time(T0 + 5, now=T0, max_age_s=900, max_skew_s=30) == T0  # phone clock fast
    with pytest.raises(Invalid, match="future"):
        tap_time(T0 + 31, now=T0, max_age_s=900, max_skew_s=30)
    with pytest.raises(Invalid, match="too late"):
        tap_time(T0 - 901, now=T0, max_age_s=900, max_skew_s=30)


def test_a_tap_enters_once_and_a_later_one_changes_nothing() -> None:
    first = tap(Presence(), store_id=7, placement="counter", at=T0)
    assert first.accepted
    assert first.events == [
        ZoneEvent("nfc:7:counter", Transition.ENTER, T0, confidence=Confidence.HIGH)
    ]
    again = tap(first.presence, store_id=7, placement="counter", at=T0 + 60)
    assert again.accepted
    assert again.events == []


def test_a_second_tag_of_the_store_enters_its_zone_and_keeps_the_first() -> None:
    first = tap(Presence(), store_id=7, placement="counter", at=T0)
    second = tap(first.presence, store_id=7, placement="entrance", at=T0 + 1)
    assert second.events == [
        ZoneEvent("nfc:7:entrance", Transition.ENTER, T0 + 1, confidence=Confidence.HIGH)
    ]
    assert set(second.presence.zones) == {"nfc:7:counter", "nfc:7:entrance"}


def test_a_tap_at_another_store_exits_the_first() -> None:
    first = tap(Presence(), store_id=7, placement="counter", at=T0)
    other = tap(first.presence, store_id=8, placement="counter", at=T0 + 300)
    assert [(e.zone, e.transition) for e in other.events] == [
        ("nfc:7:counter", Transition.EXIT),
        ("nfc:8:counter", Transition.ENTER),
    ]


def test_an_older_tap_is_out_of_order_and_changes_nothing() -> None:
    first = tap(Presence(), store_id=7, placement="counter", at=T0)
    late = tap(first.presence, store_id=8, placement="counter", at=T0 - 1)
    assert not late.accepted
    assert late.events == []
    assert late.presence == first.presence


def test_taps_leave_other_sources_alone_and_time_out_like_any_presence() -> None:
    geofenced = Presence(zones={}, last_at={"geofence": T0})
    first = tap(geofenced, store_id=7, placement="counter", at=T0)
    assert first.presence.last_at["geofence"] == T0
    left, events = expire(first.presence, now=T0 + 1501, stale_s=1500)
    assert events == [ZoneEvent(zone_of(7, "counter"), Transition.EXIT, T0, timeout=True)]
    assert left.zones == {}

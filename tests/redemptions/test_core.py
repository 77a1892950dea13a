"""The code alphabet, reading typed codes back, lifetimes, QR payload and buy-now links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.config import Settings
from redemptions import qr
from redemptions.core import (
    ALPHABET,
    LENGTH,
    OFFER_DEFAULT_TTL,
    effective_expiry,
    new_code,
    offer_code_expiry,
    parse_code,
)
from redemptions.service import buy_now_link

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_codes_are_short_uppercase_and_unambiguous() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == LENGTH
        assert set(code) <= set(ALPHABET)
    assert not set("01ILOU") & set(ALPHABET)
    assert ALPHABET.upper() == ALPHABET


@given(st.text(alphabet=ALPHABET, min_size=LENGTH, max_size=LENGTH))
def test_a_code_reads_back_however_it_is_typed(code: str) -> None:
    assert parse_code(code) == code
    assert parse_code(code.lower()) == code
    assert parse_code(f"{code[:4]}-{code[4:]}") == code
    assert parse_code(f" {code[:4]} {code[4:]} ") == code


@pytest.mark.parametrize(
    "typed",
    ["", "ABCD234", "ABCD23456", "ABCDO234", "ABCD0234", "ABCD1234", "ABCDI234", "ABCDU234",
     "ABCD\x00234", "ABCD\t2345", "ABCD_2345", "ÀBCD2345", "ABCD2345\n"],
)  # fmt: skip
def test_what_cannot_be_a_code_is_refused_without_echoing_it(typed: str) -> None:
    with pytest.raises(ValueError, match="8 characters") as refused:
        parse_code(typed)
    assert typed.strip() == "" or typed not in str(refused.value)


def test_an_offer_code_lives_as_long_as_its_offer() -> None:
    ends = NOW + timedelta(days=3)
    assert offer_code_expiry(ends, NOW) == ends
    assert offer_code_expiry(None, NOW) == NOW + OFFER_DEFAULT_TTL == NOW + timedelta(days=30)
    assert effective_expiry(ends, None) == ends
    assert effective_expiry(ends, NOW) == NOW  # the store ended the offer early
    assert effective_expiry(ends, ends + timedelta(days=1)) == ends


def test_the_qr_payload_and_image() -> None:
    assert qr.payload("ABCD2345") == "VICINITY:REDEEM:ABCD2345"
    assert qr.png("ABCD2345").startswith(b"\x89PNG\r\n\x1a\n")


def test_buy_now_uses_the_apps_own_scheme() -> None:
    link = buy_now_link(Settings(), offer_id=12, code="ABCD2345")
    assert link == "vicinity://buy?offer=12&code=ABCD2345"
    custom = Settings(deep_link_schemes=["https", "maboutique"])
    assert buy_now_link(custom, offer_id=3, code="X") == "maboutique://buy?offer=3&code=X"
    web_only = Settings(deep_link_schemes=["https"])
    assert buy_now_link(web_only, offer_id=3, code="X").startswith("vicinity://buy?")

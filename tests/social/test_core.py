"""Invite codes and profile values as pure rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from social import core


def test_a_new_code_is_eight_unambiguous_symbols() -> None:
    code = core.new_code()
    assert len(code) == core.CODE_LENGTH
    assert set(code) <= set(core.ALPHABET)
    assert not set("ILOU") & set(core.ALPHABET)


@given(st.text(alphabet=core.ALPHABET, min_size=8, max_size=8))
def test_a_code_reads_back_however_it_is_typed_or_pasted(code: str) -> None:
    spaced = f" {code[:4].lower()}-{code[4:]} "
    for typed in (code, spaced, f"vicinity://invite/{code}", f"https://x.example/invite/{code}/"):
        assert core.read_code(typed) == code


def test_letters_people_confuse_read_as_the_digits_they_look_like() -> None:
    assert core.read_code("OOII-LLAB") == "001111AB"


@pytest.mark.parametrize(
    "typed", ["", "ABC", "ABCDEFGHJ", "ABCD-EFG!", "ÀBCDEFGH", "ABCDEFGU", "http://[/x", "/"]
)
def test_what_cannot_be_a_code_is_none(typed: str) -> None:
    assert core.read_code(typed) is None


def test_the_link_uses_the_apps_own_scheme() -> None:
    assert core.app_scheme(["https", "vicinity"]) == "vicinity"
    assert core.app_scheme(["HTTPS", "myapp", "other"]) == "myapp"
    assert core.app_scheme(["https"]) == core.FALLBACK_APP_SCHEME
    assert core.invite_link("vicinity", "7K3MQ9TX") == "vicinity://invite/7K3MQ9TX"


@pytest.mark.parametrize(
    "url",
    ["http://example.org/a.jpg", "javascript:alert(1)", "data:image/png;base64,AA", "https://",
     "https:///path", "ftp://example.org/a", "https://exa mple.org/a", "https://[::1"],
)  # fmt: skip
def test_an_avatar_is_an_https_url_with_a_host(url: str) -> None:
    with pytest.raises(ValueError, match=r"https URL|spaces|IPv6"):
        core.https_url(url)


def test_an_https_avatar_passes() -> None:
    assert (
        core.https_url("https://cdn.example.org/a.jpg?s=64") == "https://cdn.example.org/a.jpg?s=64"
    )


def test_display_names_are_trimmed_and_never_blank_nor_bidi_tricks() -> None:
    assert core.display_name("  Camille ") == "Camille"
    assert core.display_name("Zoë 🌻") == "Zoë 🌻"
    with pytest.raises(ValueError, match="blank"):
        core.display_name("   ")
    with pytest.raises(ValueError, match="bidirectional"):
        core.display_name("Ann\u202egpj.exe")

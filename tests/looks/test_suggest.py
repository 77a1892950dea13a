"""The tag suggestion core: fuzzy, explained, ranked, deterministic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from looks.suggest import THRESHOLD, Candidate, Kind, fold, suggest

STAN = Candidate(1, Kind.ITEM, "Stan Smith", "Adidas")
ADIDAS = Candidate(2, Kind.BRAND, "Adidas")
JEANS = Candidate(3, Kind.ITEM, "Blue Jeans", "Levi's")
SNEAKERS = Candidate(4, Kind.ITEM, "Red Sneakers", "Veja")
LEVIS = Candidate(5, Kind.BRAND, "Levi's")
ROBE = Candidate(6, Kind.ITEM, "Robe d'été", "Sézane")
SEZANE = Candidate(7, Kind.BRAND, "Sézane")
ALL = [STAN, ADIDAS, JEANS, SNEAKERS, LEVIS, ROBE, SEZANE]


def ids(caption: str, hashtags: list[str] | None = None) -> list[tuple[str, int]]:
    return [(s.candidate.kind.value, s.candidate.id) for s in suggest(caption, hashtags or [], ALL)]


def test_names_in_the_caption_are_found_despite_typos_and_case() -> None:
    found = suggest("My new STAN smth by adidas", [], ALL)
    assert [(s.candidate, s.matched) for s in found] == [
        (ADIDAS, ("adidas",)),
        (STAN, ("stan", "smth", "adidas")),
    ]
    assert found[0].score == 100.0
    assert THRESHOLD <= found[1].score < 100.0


def test_one_shared_common_word_is_not_enough() -> None:
    assert ids("blue sky over the canal") == []


def test_a_brand_alone_suggests_the_brand_not_its_items() -> None:
    assert ids("dinner in my adidas") == [("brand", 2)]


def test_hashtags_are_words_and_run_together_phrases() -> None:
    assert ids("", ["redsneakers"]) == [("item", 4)]
    assert ids("", ["#Levis", "jeans"]) == [("brand", 5), ("item", 3)]


def test_accents_fold() -> None:
    assert fold("Été Sézane") == "ete sezane"
    assert ids("ma robe d'ete SEZANE") == [("brand", 7), ("item", 6)]


def test_ties_go_to_brands_then_name_then_id() -> None:
    twins = [
        Candidate(9, Kind.ITEM, "Linen Shirt"),
        Candidate(8, Kind.ITEM, "Linen Shirt"),
        Candidate(10, Kind.BRAND, "Linen Shirt"),
    ]
    found = suggest("linen shirt", [], twins)
    assert [s.candidate.id for s in found] == [10, 8, 9]
    assert suggest("linen shirt", [], list(reversed(twins))) == found


def test_nothing_to_match_suggests_nothing() -> None:
    assert suggest("", [], ALL) == []
    assert suggest("!!! ...", [], ALL) == []
    assert suggest("stan smith", [], []) == []


def test_the_limit_keeps_the_best() -> None:
    many = [Candidate(i, Kind.ITEM, "Linen Shirt") for i in range(1, 50)]
    assert [s.candidate.id for s in suggest("linen shirt", [], many, limit=3)] == [1, 2, 3]


words = st.lists(st.sampled_from(["stan", "smith", "adidas", "levis", "jeans", "blue", "x"]))


@given(words, words)
def test_same_input_same_ranking_whatever_the_candidates_order(
    caption: list[str], tags: list[str]
) -> None:
    forward = suggest(" ".join(caption), tags, ALL)
    assert forward == suggest(" ".join(caption), tags, list(reversed(ALL)))
    assert all(s.score >= THRESHOLD for s in forward)
    assert [s.score for s in forward] == sorted((s.score for s in forward), reverse=True)

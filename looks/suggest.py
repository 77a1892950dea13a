"""Tag suggestions: which catalogue items and brands a look's caption and hashtags name.

Pure: words in, candidates in, ranked suggestions out; no I/O. Rules:

* Text is compared folded: lowercase, accents removed ("Été" = "ete"), split on anything
  that is not a letter or a digit. Hashtags count as words, and also as run-together
  phrases ("#redsneakers" names "red" and "sneakers").
* Each word of a candidate's name (of two letters or more) gets the best similarity, 0 to
  100, to any word of the text: rapidfuzz's normalised Indel ratio, so "sneakrs" still
  finds "sneakers"; and, for words of four letters or more, its partial ratio inside a
  hashtag. The name's score is the mean of its words' scores weighted by their length, so
  "Blue Jeans" is not suggested for "blue sky".
* An item's score is its name's; when its brand is named too, the brand lifts it
  (``0.7 * name + 0.3 * brand`` when that is higher), never carries it alone.
* Suggestions score at least ``THRESHOLD``; the order is score (highest first), then
  brands before items, then name and id, so equal inputs always give the same list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process

THRESHOLD = 80.0
BRAND_LIFT = 0.3
MIN_PARTIAL_LEN = 4
_WORD = re.compile(r"[a-z0-9]+")


class Kind(StrEnum):
    ITEM = "item"
    BRAND = "brand"


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    kind: Kind
    name: str
    brand_name: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    candidate: Candidate
    score: float
    matched: tuple[str, ...]
    """The words of the caption or hashtags that matched, in the order of the name."""


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class _Text:
    words: tuple[str, ...]
    hashtags: tuple[str, ...]


class _Scorer:
    """Best match per name word, computed once however many candidates share the word."""

    def __init__(self, text: _Text) -> None:
        self.text = text
        self.cache: dict[str, tuple[float, str]] = {}

    def word(self, word: str) -> tuple[float, str]:
        found = self.cache.get(word)
        if found is None:
            found = self._best(word)
            self.cache[word] = found
        return found

    def _best(self, word: str) -> tuple[float, str]:
        best: tuple[float, str] = (0.0, "")
        hit = process.extractOne(word, self.text.words, scorer=fuzz.ratio)
        if hit is not None:
            best = (float(hit[1]), str(hit[0]))
        if len(word) >= MIN_PARTIAL_LEN:
            for tag in self.text.hashtags:
                if len(tag) > len(word):
                    score = float(fuzz.partial_ratio(word, tag))
                    if score > best[0]:
                        best = (score, tag)
        return best

    def name(self, name: str) -> tuple[float, tuple[str, ...]]:
        """The name's length-weighted score and the text words its words matched."""
        parts = [w for w in words_of(name) if len(w) >= 2]
        if not parts:
            return 0.0, ()
        total = weight = 0.0
        matched: list[str] = []
        for part in parts:
            score, hit = self.word(part)
            total += score * len(part)
            weight += len(part)
            if score >= THRESHOLD and hit not in matched:
                matched.append(hit)
        return total / weight, tuple(matched)


def suggest(
    caption: str, hashtags: Sequence[str], candidates: Iterable[Candidate], *, limit: int = 20
) -> list[Suggestion]:
    """The candidates the caption and hashtags name, best first (see the module rules)."""
    tags = tuple(dict.fromkeys(t for t in ("".join(words_of(h)) for h in hashtags) if t))
    words = tuple(dict.fromkeys([*words_of(caption), *(w for h in hashtags for w in words_of(h))]))
    if not words:
        return []
    scorer = _Scorer(_Text(words, tags))
    found: list[Suggestion] = []
    for candidate in dict.fromkeys(candidates):
        score, matched = scorer.name(candidate.name)
        if candidate.kind is Kind.ITEM and candidate.brand_name:
            brand, brand_matched = scorer.name(candidate.brand_name)
            lifted = (1 - BRAND_LIFT) * score + BRAND_LIFT * brand
            if lifted > score:
                score = lifted
                matched = tuple(dict.fromkeys([*matched, *brand_matched]))
        if score >= THRESHOLD:
            found.append(Suggestion(candidate, round(score, 1), matched))
    found.sort(key=_order)
    return found[:limit]


def _order(s: Suggestion) -> tuple[float, int, str, int]:
    c = s.candidate
    return (-s.score, 0 if c.kind is Kind.BRAND else 1, fold(c.name), c.id)

"""NFC taps: the pure rules (no I/O, no clock; times are UTC epoch seconds).

A tag's UID is its ISO/IEC 14443-3 identifier: 4 bytes (single size), 7 (double) or
10 (triple). Phones and readers print it in many ways (``04:A2:2B:1C:5D:80:4D``,
``04a22b1c5d804d``); it is kept as upper-case hex without separators.

A tap is presence at the tag's store, source ``nfc``, zone ``nfc:<store id>:<placement>``
(a :class:`~presence.core.ZoneKey` named within the store, so the zone's store is read
from the key like a beacon zone's):

* the tapped zone is ``inside``: ENTER unless the user is already in it;
* the user's other NFC zones at the same store are held: tapping the counter after the
  entrance does not leave the entrance;
* NFC zones at other stores are neither, so a tap elsewhere EXITs them: one cannot
  tap in two shops at once;
* no DWELL: a tap is a moment, not a stay;
* the zones time out like any presence (``presence.core.expire``): ``stale_s`` after the
  user's last tap anywhere, the beat job EXITs them;
* a tap not newer than the last accepted one is out of order and changes nothing
  (``presence.core.advance``);
* its events are of ``high`` confidence (``presence.confidence``): the phone touched the
  store's own tag.

A tap is accepted only within ``max_age_s`` in the past and ``max_skew_s`` ahead of the
server clock (a phone clock a little fast is brought back to now); anything else is a
clock or a replay problem the phone must hear about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kernel.errors import Invalid
from presence.confidence import TAP
from presence.core import Observation, Presence, ZoneEvent, ZoneKey, advance, is_newer, kind_of

SOURCE = "nfc"
UID_BYTES = (4, 7, 10)
UID_MAX = 2 * max(UID_BYTES)
PLACEMENT_MAX = 40  # so "nfc:<store id>:<placement>" fits a notification's 64-character zone
_SEPARATORS = re.compile(r"[\s:\-]")
_HEX = re.compile(r"[0-9A-F]*")


def normalise_uid(text: str) -> str:
    """The UID as upper-case hex without separators; ``ValueError`` for anything that is
    not 4, 7 or 10 bytes of hex."""
    uid = _SEPARATORS.sub("", text).upper()
    if not uid.isascii() or not _HEX.fullmatch(uid):
        raise ValueError("an NFC tag UID is hexadecimal, e.g. 04:A2:2B:1C:5D:80:4D")
    if len(uid) % 2 or len(uid) // 2 not in UID_BYTES:
        raise ValueError(
            f"an NFC tag UID is 4, 7 or 10 bytes (ISO/IEC 14443-3), not {len(uid) / 2:g}"
        )
    return uid


def zone_of(store_id: int, placement: str) -> str:
    """The presence zone of a tag, ``nfc:<store id>:<placement>``."""
    return str(ZoneKey(SOURCE, store_id, placement))


def tap_time(tapped_at: float, *, now: float, max_age_s: float, max_skew_s: float) -> float:
    """When the tap counts: its own time, or now for a phone clock slightly ahead;
    ``Invalid`` for a tap too old to act on or a clock too far ahead."""
    if tapped_at - now > max_skew_s:
        raise Invalid(
            f"tapped_at is {tapped_at - now:.0f} s in the future by the server clock (at "
            f"most {max_skew_s:.0f} s ahead allowed); check the phone's clock"
        )
    if now - tapped_at > max_age_s:
        raise Invalid(
            f"tapped_at is {now - tapped_at:.0f} s old; a tap older than {max_age_s:.0f} s "
            "is too late to count as presence"
        )
    return min(tapped_at, now)


@dataclass(frozen=True, slots=True)
class Tapped:
    """The presence after a tap, its events, and whether the tap was taken (newer than
    the last one)."""

    presence: Presence
    events: list[ZoneEvent]
    accepted: bool


def tap(state: Presence, *, store_id: int, placement: str, at: float) -> Tapped:
    """One tap on a store's tag → the presence machine's step."""
    zone = zone_of(store_id, placement)
    same_store = frozenset(
        z for z in state.zones if kind_of(z) == SOURCE and ZoneKey.parse(z).id == store_id
    )
    obs = Observation(SOURCE, at, frozenset({zone}), same_store - {zone})
    accepted = is_newer(state, SOURCE, at)
    after, events = advance(state, obs, {})
    return Tapped(after, [replace(e, confidence=TAP) for e in events], accepted)

"""Who a broadcast reaches: pure, no I/O, no clock (times are arguments).

* The store's centre is the centroid of its geofences taken together (circles as their
  bounding boxes): stores have no point location of their own.
* The audience is the users whose **presence** holds, now, a zone near that centre: a
  geofence (any store's) within the radius, or one of the store's own beacon or NFC zones.
  Stored locations are never read; presence holds zones, not coordinates.
* A zone whose source was not observed for ``stale_s`` does not count: the user went quiet
  and is leaving, whether or not the expire job has exited them yet (``presence.core``).
* Each user is decided once, on the zone nearest the centre they are in; on a tie a
  geofence comes before a beacon or NFC zone (location consent is the broader one), then
  the zone's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

from presence.core import Presence, ZoneKey, expire

# Zones named within a store (``beacon:<store>:<name>``), the store's own.
STORE_ZONE_KINDS = frozenset({"beacon", "nfc"})
_KIND_ORDER = {"geofence": 0}


@dataclass(frozen=True, slots=True)
class Member:
    """One user of the audience and the zone their broadcast trigger is on."""

    user_id: int
    zone: str


def centre(shapes: Sequence[BaseGeometry]) -> tuple[float, float] | None:
    """The centroid (lon, lat) of the shapes together; ``None`` without any."""
    if not shapes:
        return None
    point = shapely.union_all(list(shapes)).centroid
    return float(point.x), float(point.y)


def distance_to(store_id: int, geofences: dict[str, float]) -> Callable[[str], float | None]:
    """A zone's distance from the centre (metres), ``None`` when out of reach:
    ``geofences`` are the zones of the fences within the radius with theirs; the store's
    own beacon and NFC zones are in the store, at 0."""

    def distance(zone: str) -> float | None:
        if zone in geofences:
            return geofences[zone]
        try:
            key = ZoneKey.parse(zone)
        except ValueError:
            return None
        if key.kind in STORE_ZONE_KINDS and key.id == store_id and key.name is not None:
            return 0.0
        return None

    return distance


def nearest_zone(
    presence: Presence, *, distance: Callable[[str], float | None], now: float, stale_s: float
) -> str | None:
    """The zone near the centre this user is in now, nearest first; ``None`` if none."""
    live, _ = expire(presence, now=now, stale_s=stale_s)
    ranked = [
        (d, _KIND_ORDER.get(ZoneKey.parse(zone).kind, 1), zone)
        for zone in live.zones
        if (d := distance(zone)) is not None
    ]
    return min(ranked)[2] if ranked else None


def audience(
    batches: Iterable[Sequence[tuple[int, Presence]]],
    *,
    distance: Callable[[str], float | None],
    now: float,
    stale_s: float,
) -> list[Member]:
    """Every user present near the centre, once each, by user id."""
    found: dict[int, str] = {}
    for batch in batches:
        for user_id, presence in batch:
            zone = nearest_zone(presence, distance=distance, now=now, stale_s=stale_s)
            if zone is not None:
                found[user_id] = zone
    return [Member(uid, found[uid]) for uid in sorted(found)]


def chunks(members: Sequence[Member], size: int) -> list[list[Member]]:
    """The audience in chunks of at most ``size`` users, one task each."""
    return [list(members[start : start + size]) for start in range(0, len(members), size)]

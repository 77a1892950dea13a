"""Impossible jumps ("teleports") between a user's fixes: pure, no I/O, no clock.

A fix that would mean moving faster than ``max_speed_kmh`` (``VICINITY_MAX_SPEED_KMH``,
300 by default: faster than any car in a town) since the user's last *accepted* fix is
ignored as ``teleport``, like Radar's "jumped" flag: a spoofed location, or a multipath
spike between buildings. It triggers nothing, and it does not become the last accepted
fix (``presence.core.LastFix``): a teleport must not move presence, so the next fix is
checked against the last credible position. An anchor that was itself wrong is outgrown
as time passes (the bound is on the average speed since it: a fix 2 km off is cleared
about 25 s later), and is forgotten with presence's zones, ``stale_s`` after it was
taken (``presence.core.expire``).

Jitter is allowed for, not mistaken for speed: the distance counted is the distance less
both fixes' reported accuracies and ``JUMP_SLACK_M`` (a phone's accuracy is a 68 %
radius, so a fix is often further off than it says, and the kept fix is rounded to about
10 m), over a gap of at least ``JUMP_MIN_GAP_S`` (fix times come to the second at best).
So a wobble between fixes a second apart passes, and 1,000 km in a minute does not.
"""

from __future__ import annotations

import math

from geofence.grid import EARTH_RADIUS_M
from geofence.screening import Fix
from presence.core import LastFix

JUMP_SLACK_M = 20.0
JUMP_MIN_GAP_S = 1.0


def too_fast(fix: Fix, last: Fix | LastFix | None, *, max_speed_kmh: float) -> bool:
    """Whether reaching ``fix`` from the last accepted fix needs more than ``max_speed_kmh``
    (``last``: the batch's previous accepted fix, or the one presence kept; None: nothing
    to compare with, so no)."""
    if last is None:
        return False
    slack = fix.accuracy_m + last.accuracy_m + JUMP_SLACK_M
    gap = max(fix.at - last.at, JUMP_MIN_GAP_S)
    return metres_between(fix.lon, fix.lat, last.lon, last.lat) > max_speed_kmh / 3.6 * gap + slack


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The haversine distance, scalar: per fix, NumPy's call overhead costs more than it
    saves."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))

"""Short-lived sighting state: Redis in production, memory when embedded.

Two things are kept, both expiring by themselves:

* each user's smoothed RSSI of the beacons they recently heard (one JSON value per
  user, read and written once per batch under the user's presence lock);
* a replay guard: one ``SET NX`` key per (user, beacon, recorded_at), so a batch
  sent twice by a phone that lost the first answer changes nothing.

The guard is set in two steps. ``first_seen`` marks a key *pending* for a short while
(``pending_ttl_s``, the presence lock's lease: no request lives longer); ``keep_seen``,
once what it guards is committed, marks it seen for the replay window. A request that
fails unmarks its keys (``forget_seen``), but when Redis itself is what failed (down,
stalled) that undo fails too: the pending mark then expires on its own, and the phone's
retry meanwhile is told to come back (409 ``busy``) rather than taken for a replay.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import redis
from cachetools import TTLCache

from beacons.proximity import SmoothedRssi
from beacons.zones import BeaconTrack
from kernel.errors import Busy

TRACKS_KEY = "vicinity:beacon-tracks:{}"
REPLAY_KEY = "vicinity:sighting:{}"
PENDING = b"pending"
SEEN = b"1"
# KEYS: the batch's guards. ARGV: the pending mark, its lease in ms. → {1, {}} when one is
# pending (another request's, or a failed one's not yet expired: what this call marked is
# unmarked again), else {0, {1 when marked now, 0 when seen before, per key}}.
_FIRST_SEEN = """
local marked, mine = {}, {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    marked[i], mine[key] = 1, true
  else
    marked[i] = 0
    if not mine[key] and redis.call('GET', key) == ARGV[1] then
      for k in pairs(mine) do redis.call('DEL', k) end
      return {1, {}}
    end
  end
end
return {0, marked}
"""
# KEYS: guards this request marked. ARGV: the seen mark, the replay window in s.
_KEEP_SEEN = """
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'EX', ARGV[2]) end
return #KEYS
"""


def _dump(tracks: Mapping[int, BeaconTrack]) -> str:
    return json.dumps(
        {
            str(beacon_id): [t.zone, t.measured_power_1m, t.rssi.rssi, t.rssi.variance,
                             t.rssi.at_s, t.rssi.q, t.rssi.r]
            for beacon_id, t in tracks.items()
        }
    )  # fmt: skip


def _load(raw: str | bytes) -> dict[int, BeaconTrack]:
    data: dict[str, list[Any]] = json.loads(raw)
    return {
        int(beacon_id): BeaconTrack(
            zone=str(v[0]),
            measured_power_1m=int(v[1]),
            rssi=SmoothedRssi(float(v[2]), float(v[3]), float(v[4]), float(v[5]), float(v[6])),
        )
        for beacon_id, v in data.items()
    }


class SightingStore(Protocol):
    def first_seen(self, keys: Sequence[str]) -> list[bool]:
        """For each key, whether this is its first sighting within the replay window;
        :class:`~kernel.errors.Busy` when one is pending (another request's, or a failed
        one's not yet expired)."""
        ...

    def keep_seen(self, keys: Sequence[str]) -> None:
        """What keys ``first_seen`` marked guard is committed: seen for the window."""

    def forget_seen(self, keys: Sequence[str]) -> None:
        """Unmark keys ``first_seen`` marked, when what they guarded was not kept."""

    def load_tracks(self, user_id: int) -> dict[int, BeaconTrack]: ...
    def save_tracks(self, user_id: int, tracks: Mapping[int, BeaconTrack]) -> None: ...
    def clear(self, user_id: int) -> None:
        """Forget the user: their tracks and their replay guards."""
        ...


class RedisSightingStore:
    def __init__(
        self,
        client: redis.Redis,
        *,
        track_ttl_s: int,
        replay_ttl_s: int,
        pending_ttl_s: float = 30.0,
    ) -> None:
        self._redis = client
        self._track_ttl_s = track_ttl_s
        self._replay_ttl_s = replay_ttl_s
        self._pending_ms = max(1, round(pending_ttl_s * 1000))
        # A batch's guards in one round trip each, not two commands a sighting.
        self._first_seen = client.register_script(_FIRST_SEEN)
        self._keep_seen = client.register_script(_KEEP_SEEN)

    def first_seen(self, keys: Sequence[str]) -> list[bool]:
        if not keys:
            return []
        names = [REPLAY_KEY.format(key) for key in keys]
        pending, marked = self._first_seen(keys=names, args=[PENDING, self._pending_ms])
        if pending:
            raise Busy("these events are being recorded by another request; retry in a second")
        return [bool(m) for m in marked]

    def keep_seen(self, keys: Sequence[str]) -> None:
        if keys:
            names = [REPLAY_KEY.format(key) for key in keys]
            self._keep_seen(keys=names, args=[SEEN, self._replay_ttl_s])

    def forget_seen(self, keys: Sequence[str]) -> None:
        if keys:
            self._redis.delete(*(REPLAY_KEY.format(k) for k in keys))

    def load_tracks(self, user_id: int) -> dict[int, BeaconTrack]:
        raw = self._redis.get(TRACKS_KEY.format(user_id))
        return {} if raw is None else _load(raw)

    def save_tracks(self, user_id: int, tracks: Mapping[int, BeaconTrack]) -> None:
        key = TRACKS_KEY.format(user_id)
        if tracks:
            self._redis.set(key, _dump(tracks), ex=self._track_ttl_s)
        else:
            self._redis.delete(key)

    def clear(self, user_id: int) -> None:
        replays = self._redis.scan_iter(match=REPLAY_KEY.format(f"{user_id}:*"), count=500)
        self._redis.delete(TRACKS_KEY.format(user_id), *replays)


class MemorySightingStore:
    """The embedded default: one process, so bounded TTL caches and a lock.

    Entries leave at their TTL whether read or not, and past ``maxsize`` the least
    recently used go first (a replay guard lost that way only lets a very old resend
    through, which is stale by then anyway).
    """

    def __init__(
        self,
        *,
        track_ttl_s: int,
        replay_ttl_s: int,
        maxsize: int = 100_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tracks: TTLCache[int, str] = TTLCache(maxsize, track_ttl_s, timer=timer)
        self._replays: TTLCache[str, bool] = TTLCache(maxsize * 10, replay_ttl_s, timer=timer)
        self._guard = threading.Lock()

    def sizes(self) -> tuple[int, int]:
        """How many users' tracks and replay guards are held (after expiry)."""
        with self._guard:
            self._tracks.expire()
            self._replays.expire()
            return len(self._tracks), len(self._replays)

    def first_seen(self, keys: Sequence[str]) -> list[bool]:
        out = []
        with self._guard:
            for key in keys:
                fresh = key not in self._replays
                if fresh:
                    self._replays[key] = True
                out.append(fresh)
        return out

    def keep_seen(self, keys: Sequence[str]) -> None:
        """Marked seen already: one process, its undo cannot fail."""

    def forget_seen(self, keys: Sequence[str]) -> None:
        with self._guard:
            for key in keys:
                self._replays.pop(key, None)

    def load_tracks(self, user_id: int) -> dict[int, BeaconTrack]:
        with self._guard:
            raw = self._tracks.get(user_id)
        return {} if raw is None else _load(raw)

    def save_tracks(self, user_id: int, tracks: Mapping[int, BeaconTrack]) -> None:
        with self._guard:
            if tracks:
                self._tracks[user_id] = _dump(tracks)
            else:
                self._tracks.pop(user_id, None)

    def clear(self, user_id: int) -> None:
        prefix = f"{user_id}:"
        with self._guard:
            self._tracks.pop(user_id, None)
            for key in [k for k in self._replays if k.startswith(prefix)]:
                del self._replays[key]

"""The sighting hot path for app users.

Sightings (``report_sightings``), in order:

1. a batch over ``max_batch`` is refused (413), one dated more than
   ``max_clock_skew_s`` ahead of the server too (422); a batch a little ahead is
   shifted back to the server clock (``presence.core.clock_offset``);
2. identities resolve to registered beacons (EIDs through the process's EID table);
   unknown and retired beacons are counted and skipped;
3. a sighting already reported (same user, beacon and ``recorded_at``) is ignored;
4. fleet health learns from every sighting left, consented or not, since it names no
   one: last seen (to the minute) and Eddystone-TLM battery and temperature;
5. without the user's ``beacon_proximity`` consent nothing else is kept about them;
6. sightings older than ``max_fix_age_s`` are too late to trigger anything;
7. a beacon more than ``beacon_max_fix_distance_m`` from every store geofence the user
   is in right now (and of another store) is flagged ``far_from_location`` and does
   not feed presence: a cloned static id heard across town must not push an offer.
   Raw fixes are not kept, so the user's current geofence presence stands for "the
   last fix"; a user in no geofence is not checked;
8. the rest go through the one presence flow (``presence.flow``): each sighting at its
   own time updates the user's smoothed RSSI tracks and presence (``beacons.tracking``,
   with the zone rules of ``beacons.zones``); ENTER and DWELL go to the decision with
   purpose ``beacon_proximity``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from shapely.geometry import Point
from sqlalchemy.orm import Session

from beacons import repository
from beacons.frames import EddystoneTlm
from beacons.health import assess
from beacons.models import Beacon, BeaconStatus
from beacons.registry import record_event
from beacons.store import SightingStore
from beacons.sync import EidDirectory
from beacons.tracking import Placed, SightingRules, TrackedSightings, track_sightings
from beacons.zones import Sighting, zone_of
from geofence.core import GeofenceIndex
from geofence.tracking import zone_stores
from kernel.config import Settings
from kernel.db import after_commit, after_rollback
from kernel.errors import PayloadTooLarge
from kernel.metrics import count_sightings
from preferences.core import Purpose
from preferences.service import consented
from presence.core import Presence, clock_offset
from presence.flow import DecideEvents, Stepped, advance_presence
from presence.store import PresenceStore

__all__ = ["SightingRules", "check_batch", "replay_window_s", "report_sightings"]

LAST_SEEN_EVERY = timedelta(seconds=60)


def replay_window_s(settings: Settings) -> int:
    """How long a sighting's replay key must live: older sightings are stale anyway."""
    return int(settings.max_fix_age_s + settings.max_clock_skew_s)


def _placed(row: Beacon) -> Placed:
    point = row.point
    assert isinstance(point, Point)
    zone = zone_of(row.store_id, row.zone)
    return Placed(row.id, row.store_id, zone, row.measured_power_1m, point.x, point.y)


def _note_seen(
    session: Session, seen: Sequence[tuple[Sighting, Beacon]], rules: SightingRules, now: float
) -> None:
    """Fleet health from anyone's sightings: last seen, telemetry, missing beacons found."""
    latest: dict[int, tuple[Beacon, float, EddystoneTlm | None, float]] = {}
    for s, row in seen:
        _, at, tlm, tlm_at = latest.get(row.id, (row, float("-inf"), None, float("-inf")))
        at = max(at, s.at_s)
        if s.tlm is not None and s.at_s >= tlm_at:
            tlm, tlm_at = s.tlm, s.at_s
        latest[row.id] = (row, at, tlm, tlm_at)
    now_dt = datetime.fromtimestamp(now, UTC)
    for row, at, tlm, tlm_at in latest.values():
        heard = datetime.fromtimestamp(min(at, now), UTC)
        if row.last_seen_at is None or heard - row.last_seen_at >= LAST_SEEN_EVERY:
            row.last_seen_at = heard
        if tlm is not None:
            told = datetime.fromtimestamp(min(tlm_at, now), UTC)
            if row.telemetry_at is None or told > row.telemetry_at:
                row.battery_mv, row.temperature_c, row.telemetry_at = (
                    tlm.battery_mv,
                    tlm.temperature_c,
                    told,
                )
        if row.status == BeaconStatus.MISSING.value:
            row.last_seen_at = max(row.last_seen_at or heard, heard)
            row.status = BeaconStatus.ACTIVE.value
            row.needs_visit, row.visit_reason, _ = assess(
                row,
                now=now_dt,
                silent_after=timedelta(seconds=rules.silent_after_s),
                low_battery_mv=rules.low_battery_mv,
            )
            record_event(session, row, "found", {"heard_at": heard.isoformat()}, None)
    session.flush()


def check_batch(count: int, max_batch: int) -> None:
    if count > max_batch:
        raise PayloadTooLarge(f"{count} sightings in one batch; the maximum is {max_batch}")


@dataclass(frozen=True, slots=True)
class SightingOutcome:
    tracked: TrackedSightings
    store_of: dict[str, int]
    notification_ids: list[int]


def _resolve(
    session: Session, sightings: Sequence[Sighting], eids: EidDirectory, now: float
) -> tuple[list[tuple[Sighting, Beacon]], Counter[str]]:
    """Sightings → the registered, unretired beacons they name; the rest counted."""
    ignored: Counter[str] = Counter()
    named: list[tuple[Sighting, str]] = []
    for s in sightings:
        identity = s.identity if s.eid is None else eids.resolve(s.eid, now)
        if identity is None:
            ignored["unknown"] += 1
        else:
            named.append((s, identity))
    rows = repository.by_identities(session, {identity for _, identity in named})
    resolved: list[tuple[Sighting, Beacon]] = []
    for s, identity in named:
        row = rows.get(identity)
        if row is None:
            ignored["unknown"] += 1
        elif row.status == BeaconStatus.RETIRED.value:
            ignored["retired"] += 1
        else:
            resolved.append((s, row))
    return resolved, ignored


def _first_seen(
    session: Session,
    user_id: int,
    resolved: list[tuple[Sighting, Beacon]],
    tracks: SightingStore,
) -> list[tuple[Sighting, Beacon]]:
    """The sightings not reported before (the phone's own clock names them)."""
    keys = [f"{user_id}:{b.id}:{round(s.at_s * 1000)}" for s, b in resolved]
    firsts = tracks.first_seen(keys)
    # Marked (pending) now so a concurrent resend is caught; seen once committed; unmarked
    # if this transaction fails, so the phone's retry is not taken for a replay.
    marked = [k for k, ok in zip(keys, firsts, strict=True) if ok]
    after_commit(session, partial(tracks.keep_seen, marked))
    after_rollback(session, partial(tracks.forget_seen, marked))
    return [pair for pair, ok in zip(resolved, firsts, strict=True) if ok]


def report_sightings(
    session: Session,
    *,
    user_id: int,
    sightings: Sequence[Sighting],
    eids: EidDirectory,
    index: GeofenceIndex,
    presence: PresenceStore,
    tracks: SightingStore,
    rules: SightingRules,
    max_batch: int,
    policy_version: str,
    now: float,
    decide: DecideEvents,
) -> SightingOutcome:
    """A batch of sightings from a phone: fleet health, then the one presence flow."""
    check_batch(len(sightings), max_batch)
    shift = clock_offset((s.at_s for s in sightings), now=now, max_skew_s=rules.max_skew_s)
    resolved, ignored = _resolve(session, sightings, eids, now)
    first = _first_seen(session, user_id, resolved, tracks)
    if len(first) < len(resolved):
        ignored["replayed"] = len(resolved) - len(first)
    if shift:
        first = [(replace(s, at_s=s.at_s - shift), row) for s, row in first]
    _note_seen(session, first, rules, now)
    if not first:
        count_sightings(0, ignored)
        return SightingOutcome(TrackedSightings([], 0, dict(ignored)), {}, [])
    if not consented(
        session, user_id=user_id, purpose=Purpose.BEACON_PROXIMITY, default_policy=policy_version
    ):
        ignored["no_consent"] = len(first)
        count_sightings(0, ignored)
        return SightingOutcome(TrackedSightings([], 0, dict(ignored)), {}, [])
    placed = [(s, _placed(row)) for s, row in first]

    def step(state: Presence) -> Stepped[TrackedSightings]:
        known = tracks.load_tracks(user_id)  # under the presence lock, as is its save
        tracked, after, kept = track_sightings(
            state, known, placed, index=index, rules=rules, now=now
        )
        save = () if kept is None else (partial(tracks.save_tracks, user_id, kept),)
        return Stepped(tracked, after, tracked.events, tracked.accepted > 0, save)

    done = advance_presence(
        session,
        user_id=user_id,
        presence=presence,
        step=step,
        now=now,
        store_of=zone_stores(index),
        decide=decide,
    )
    ignored.update(done.result.ignored)
    tracked = TrackedSightings(
        done.events, done.result.accepted, dict(ignored), done.result.proximity
    )
    count_sightings(tracked.accepted, tracked.ignored)
    return SightingOutcome(tracked, done.store_of, done.notification_ids)

"""Virtual shoppers: where each one walks and what its phone reports, with no I/O.

A shopper's day is an itinerary through the city's shops: walk to a shop along a
street-like route (two legs meeting at a corner, as streets rarely run straight to a
door) at a walking speed of 1.2-1.5 m/s (pedestrian studies give 1.2-1.4 m/s as the usual
pace), browse inside for a few minutes, then on to another shop nearby. Times are seconds
of the simulation (0 = when the phone starts reporting); absolute timestamps are the
caller's ``epoch`` plus them, so the same seed gives the same walk at any wall time.

What the phone reports, as phones report it:

- **Fixes** with an accuracy and error as phones report them (:mod:`simulator.sensors`).
- **Bad fixes**, a configurable share: replays of an older fix (out of order), wild jumps
  kilometres away with a confident accuracy (what a spoofed or glitching receiver sends;
  the server's teleport check must flag them), fixes from twenty minutes ago (stale), and
  fixes without an accuracy (some Android providers report none: the API refuses them,
  so they travel alone and a 422 is the expected answer).
- **Beacon sightings** inside a shop whose beacon is within BLE range (25 m), with the
  RSSI the path-loss model gives (:mod:`simulator.sensors`).
- **NFC taps** at the shop's counter, for a share of visits.

Each tick of a shopper is one event (a fix, a sighting or a tap); its phone sends it at
once or, for a share of phones (the app in the background), buffers a few and sends them
as a batch. The caller picks the tick so that the users' ticks add up to the chosen rate.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from simulator.sensors import GpsNoise, rssi_at

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQUATOR = 111_320.0
WALK_SPEED_M_S = (1.2, 1.5)
BROWSE_S = (120.0, 480.0)  # minutes in a shop
BEACON_RANGE_M = 25.0
NEXT_SHOP_WITHIN_M = 1_500.0
START_WITHIN_M = (20.0, 250.0)  # the app opens this far from the first shop
HEAD_START_S = 300.0  # itineraries begin up to this long before reporting starts


class BadFix(StrEnum):
    OUT_OF_ORDER = "out_of_order"
    JUMP = "jump"
    STALE = "stale"
    NO_ACCURACY = "no_accuracy"


@dataclass(frozen=True, slots=True)
class Beacon:
    uuid: str
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class Shop:
    store_id: int
    lon: float
    lat: float
    beacon: Beacon | None = None
    nfc_uid: str | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    lat: float
    lon: float
    accuracy_m: float | None
    at: float
    bad: BadFix | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    beacon: Beacon
    rssi: int
    at: float


@dataclass(frozen=True, slots=True)
class Tap:
    uid: str
    store_id: int
    at: float


Event = Fix | Sighting | Tap


@dataclass(frozen=True, slots=True)
class Send:
    """What the phone sends at ``at``: fixes, sightings (a batch of one or more) or a tap."""

    at: float
    events: tuple[Event, ...]

    @property
    def kind(self) -> str:
        first = self.events[0]
        return (
            "fix"
            if isinstance(first, Fix)
            else "sighting"
            if isinstance(first, Sighting)
            else "tap"
        )


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one shopper's phone and habits differ from the next one's."""

    tick_s: float
    batch: int  # 1: sends each event at once; more: buffers that many (app in background)
    bad_share: float
    tap_share: float


@dataclass(frozen=True, slots=True)
class Stop:
    """Inside ``shop`` from ``start`` to ``end`` (simulation seconds)."""

    shop: Shop
    start: float
    end: float
    taps: bool


@dataclass(frozen=True, slots=True)
class Leg:
    start: float
    end: float
    points: tuple[tuple[float, float], ...]  # local metres, walked at constant speed


class Frame:
    """Local metres east and north of an origin (equirectangular: exact enough for a city)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def to_m(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT

    def to_deg(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.kx, self.lat0 + y / M_PER_DEG_LAT


@dataclass(frozen=True, slots=True)
class Itinerary:
    legs: tuple[Leg, ...]
    stops: tuple[Stop, ...]

    def position(self, frame: Frame, t: float) -> tuple[tuple[float, float], Stop | None]:
        """The true position (local metres) at ``t`` and the shop the shopper is in, if any."""
        for stop in self.stops:
            if stop.start <= t < stop.end:
                return _browse(frame, stop, t), stop
        for leg in self.legs:
            if leg.start <= t < leg.end:
                return _along(leg, t), None
        last = self.stops[-1]
        return frame.to_m(last.shop.lon, last.shop.lat), None


def _along(leg: Leg, t: float) -> tuple[float, float]:
    lengths = [math.dist(a, b) for a, b in itertools.pairwise(leg.points)]
    total = sum(lengths) or 1.0
    walked = total * (t - leg.start) / max(leg.end - leg.start, 1e-9)
    for (a, b), length in zip(itertools.pairwise(leg.points), lengths, strict=True):
        if walked <= length and length > 0:
            u = walked / length
            return a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u
        walked -= length
    return leg.points[-1]


def _browse(frame: Frame, stop: Stop, t: float) -> tuple[float, float]:
    """Wandering between the aisles: a slow circle of a few metres around the counter."""
    cx, cy = frame.to_m(stop.shop.lon, stop.shop.lat)
    phase = (t - stop.start) / 90.0 + stop.shop.store_id
    return cx + 6.0 * math.cos(phase), cy + 4.0 * math.sin(phase * 1.3)


def plan(
    shops: list[Shop], frame: Frame, rng: random.Random, until: float, tap_share: float
) -> Itinerary:
    """Shops one after another from before ``t = 0`` until past ``until``; a visit ends
    with a tap at the counter for ``tap_share`` of them."""
    shop = rng.choice(shops)
    sx, sy = frame.to_m(shop.lon, shop.lat)
    angle = rng.uniform(0, 2 * math.pi)
    here = (sx + rng.uniform(*START_WITHIN_M) * math.cos(angle),
            sy + rng.uniform(*START_WITHIN_M) * math.sin(angle))  # fmt: skip
    t = -rng.uniform(0, HEAD_START_S)
    speed = rng.uniform(*WALK_SPEED_M_S)
    legs: list[Leg] = []
    stops: list[Stop] = []
    while True:
        target = frame.to_m(shop.lon, shop.lat)
        points = _route(here, target, rng)
        length = sum(math.dist(a, b) for a, b in itertools.pairwise(points))
        legs.append(Leg(t, t + length / speed, points))
        t += length / speed
        browse = rng.uniform(*BROWSE_S)
        stops.append(Stop(shop, t, t + browse, rng.random() < tap_share))
        t += browse
        if t > until:
            return Itinerary(tuple(legs), tuple(stops))
        here = target
        shop = _next_shop(shops, frame, shop, rng)


def _route(
    a: tuple[float, float], b: tuple[float, float], rng: random.Random
) -> tuple[tuple[float, float], ...]:
    """Two street legs meeting at a corner (east-west first or north-south first)."""
    corner = (b[0], a[1]) if rng.random() < 0.5 else (a[0], b[1])
    return (a, corner, b)


def _next_shop(shops: list[Shop], frame: Frame, current: Shop, rng: random.Random) -> Shop:
    here = frame.to_m(current.lon, current.lat)
    near = [
        s
        for s in shops
        if s.store_id != current.store_id
        and math.dist(here, frame.to_m(s.lon, s.lat)) <= NEXT_SHOP_WITHIN_M
    ]
    return rng.choice(near or [s for s in shops if s.store_id != current.store_id] or shops)


def shopper(
    shops: list[Shop], behaviour: Behaviour, seed: str, duration_s: float
) -> Iterator[Send]:
    """What one shopper's phone sends, in order, for ``duration_s`` of simulation."""
    rng = random.Random(seed)
    origin = shops[0]
    frame = Frame(origin.lon, origin.lat)
    itinerary = plan(shops, frame, rng, duration_s + HEAD_START_S, behaviour.tap_share)
    noise = GpsNoise(rng)
    pending: list[Event] = []
    last_fix: Fix | None = None
    tapped: set[float] = set()
    # Phones do not start in step: the first tick falls anywhere within one period.
    t = rng.uniform(0.0, behaviour.tick_s)
    while t < duration_s:
        (x, y), stop = itinerary.position(frame, t)
        if stop is not None and _at_counter(stop, t, tapped) and stop.shop.nfc_uid:
            tapped.add(stop.start)
            yield from _flush(pending, t)
            yield Send(t, (Tap(stop.shop.nfc_uid, stop.shop.store_id, t),))
            t += behaviour.tick_s
            continue
        if stop is not None and stop.shop.beacon is not None and rng.random() < 0.5:
            bx, by = frame.to_m(stop.shop.lon, stop.shop.lat)
            distance = math.hypot(x - bx, y - by)
            if distance <= BEACON_RANGE_M:
                sighting = Sighting(stop.shop.beacon, rssi_at(distance, rng), t)
                yield from _queue(pending, sighting, behaviour.batch, t)
                t += behaviour.tick_s
                continue
        fix = _fix(frame, noise, rng, x, y, t, stop is not None, last_fix, behaviour.bad_share)
        if fix.bad is None:
            last_fix = fix
        if fix.bad is BadFix.NO_ACCURACY:  # refused whole by the API: it travels alone
            yield from _flush(pending, t)
            yield Send(t, (fix,))
        else:
            yield from _queue(pending, fix, behaviour.batch, t)
        t += behaviour.tick_s
    yield from _flush(pending, duration_s)


def _at_counter(stop: Stop, t: float, tapped: set[float]) -> bool:
    """A visit that ends with a tap has it halfway through, once."""
    return stop.taps and stop.start not in tapped and t >= (stop.start + stop.end) / 2


def _fix(
    frame: Frame,
    noise: GpsNoise,
    rng: random.Random,
    x: float,
    y: float,
    t: float,
    indoors: bool,
    last: Fix | None,
    bad_share: float,
) -> Fix:
    accuracy = noise.accuracy(indoors)
    ex, ey = noise.error(t, accuracy)
    lon, lat = frame.to_deg(x + ex, y + ey)
    if rng.random() >= bad_share:
        return Fix(round(lat, 7), round(lon, 7), accuracy, t)
    kind = rng.choice(list(BadFix))
    if kind is BadFix.OUT_OF_ORDER and last is None:
        kind = BadFix.STALE  # nothing to replay yet
    if kind is BadFix.OUT_OF_ORDER and last is not None:
        return Fix(last.lat, last.lon, last.accuracy_m, last.at - rng.uniform(1.0, 30.0), kind)
    if kind is BadFix.JUMP:
        far, angle = rng.uniform(2_000.0, 20_000.0), rng.uniform(0.0, 2 * math.pi)
        lon, lat = frame.to_deg(x + far * math.cos(angle), y + far * math.sin(angle))
        return Fix(round(lat, 7), round(lon, 7), 8.0, t, kind)
    if kind is BadFix.STALE:
        return Fix(round(lat, 7), round(lon, 7), accuracy, t - 1_200.0, kind)
    return Fix(round(lat, 7), round(lon, 7), None, t, BadFix.NO_ACCURACY)


def mergeable(send: Send) -> bool:
    """Fixes or sightings that may share a request (a fix without accuracy travels alone)."""
    return send.kind != "tap" and not any(
        isinstance(e, Fix) and e.accuracy_m is None for e in send.events
    )


def catch_up(
    first: Send, sends: Iterator[Send], now: float, max_batch: int
) -> tuple[Send, Send | None]:
    """A phone that fell behind (the server was slow) sends its backlog as one batch, as
    apps do: ``first`` with the following sends of its kind already due at ``now``, up to
    ``max_batch`` events. Returns that send and the next one not merged (None: no more)."""
    merged = list(first.events)
    following = next(sends, None)
    while (
        following is not None
        and following.at <= now
        and mergeable(first)
        and mergeable(following)
        and following.kind == first.kind
        and len(merged) + len(following.events) <= max_batch
    ):
        merged.extend(following.events)
        following = next(sends, None)
    return Send(first.at, tuple(merged)), following


def _queue(pending: list[Event], event: Event, batch: int, t: float) -> Iterator[Send]:
    """Buffer ``event``; send the buffer when full or when its kind changes (a request
    carries fixes or sightings, not both)."""
    if pending and type(pending[0]) is not type(event):
        yield from _flush(pending, t)
    pending.append(event)
    if len(pending) >= batch:
        yield from _flush(pending, t)


def _flush(pending: list[Event], t: float) -> Iterator[Send]:
    if pending:
        yield Send(t, tuple(pending))
        pending.clear()


def behaviours(
    users: int, rate: float, seed: int, *, batch_share: float, bad_share: float
) -> list[Behaviour]:
    """Each shopper's phone: the tick that makes all of them add up to ``rate`` events/s,
    batching for ``batch_share`` of them (2-20 events a request)."""
    rng = random.Random(f"{seed}:phones")
    tick = users / rate
    out = []
    for _ in range(users):
        batch = rng.randint(2, 20) if rng.random() < batch_share else 1
        out.append(Behaviour(tick, batch, bad_share, 0.5))
    return out

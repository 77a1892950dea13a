"""The pure decision under competition: one ENTER at a store where 50 candidates compete.

``python -m bench decide [--calls 5000] [--runs 5] [--quick]``

``notifications.decide.decide_all`` (no I/O: what ``on_presence`` calls once it has read
the profile, the offers and today's pushes) for a shopper with six consented segments, at
a store with 49 active offers (each targets one to three segments, overlapping the
shopper's in one to three, priorities -2..2) and ten friends' looks (the best one not
pushed today competes: 50 candidates), against the single-candidate case:

- single: one offer, no looks;
- 50, no cap: every candidate is sent (50 decisions);
- 50, daily cap 3, one pushed today: 2 sent, 48 held back by the cap (the usual case:
  every held-back decision is recorded, naming its competitors);
- 50, quiet hours: all 50 held back.

Each call is timed alone (``perf_counter_ns``): calls per second per run (min/median/max
over ``--runs``), and the per-call median and 99th percentile over all runs, one core.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

from bench.figures import spread
from notifications.decide import LookRule, OfferRule, Trigger, decide_all
from preferences.core import QuietHours, TargetingProfile
from presence.core import Transition

NOW = 1_795_435_200.0  # 2026-11-22 09:20 UTC
STORE = 7
SEGMENTS = ("fashion", "shoes", "women", "sport", "beauty", "kids")
OTHER = ("men", "home", "food", "tech")


@dataclass(frozen=True)
class Case:
    label: str
    profile: TargetingProfile
    offers: list[OfferRule]
    looks: list[LookRule]
    pushed_today: int
    decisions: int  # what one call must return, checked before timing


def _offers(n: int) -> list[OfferRule]:
    offers = []
    for i in range(n):
        # One to three of the shopper's segments, sometimes one it does not have.
        mine = {SEGMENTS[(i + k) % len(SEGMENTS)] for k in range(1 + i % 3)}
        theirs = {OTHER[i % len(OTHER)]} if i % 4 == 0 else set()
        offers.append(
            OfferRule(
                id=100 + i,
                store_id=STORE,
                segments=frozenset(mine | theirs),
                trigger=Transition.ENTER,
                zones=None,
                starts_at=NOW - 86_400,
                ends_at=NOW + 86_400 * (1 + i % 7),
                priority=i % 5 - 2,
            )
        )
    return offers


def _looks(n: int) -> list[LookRule]:
    return [
        LookRule(
            id=900 + i,
            store_id=STORE,
            score=5.0 - i / 3,
            shared=frozenset(SEGMENTS[i % 3 : i % 3 + 2]),
        )
        for i in range(n)
    ]


def _cases() -> list[Case]:
    segments = frozenset(SEGMENTS)
    free = TargetingProfile(segments, friends_looks=True)
    capped = TargetingProfile(segments, max_per_day=3, friends_looks=True, utc_offset_s=3600)
    quiet = TargetingProfile(
        segments, quiet_hours=QuietHours(start_min=0, end_min=23 * 60), friends_looks=True
    )
    many, looks = _offers(49), _looks(10)
    return [
        Case("single candidate", free, _offers(1), [], 0, 1),
        Case("50 candidates, no cap", free, many, looks, 0, 50),
        Case("50 candidates, cap 3 (1 sent)", capped, many, looks, 1, 50),
        Case("50 candidates, quiet hours", quiet, many, looks, 0, 50),
    ]


def _timed(case: Case, calls: int) -> tuple[float, list[int]]:
    """(calls per second, each call's nanoseconds)."""
    triggers = [Trigger(zone="geofence:3", store_id=STORE, transition=Transition.ENTER, at=NOW)]
    each = []
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(calls):
        t = clock()
        decide_all(
            profile=case.profile,
            triggers=triggers,
            offers=case.offers,
            sent_today=frozenset(),
            pushed_today=case.pushed_today,
            looks=case.looks,
        )
        each.append(clock() - t)
    return calls * 1e9 / (clock() - start), each


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench decide")
    p.add_argument("--calls", type=int, default=5000, help="decide_all calls per run")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="smoke run: 200 calls, 2 runs")
    a = p.parse_args(argv or [])
    calls, runs = (200, 2) if a.quick else (a.calls, a.runs)
    print(
        f"\nThe pure decision, one ENTER, {calls:,} calls x {runs} runs, one core;"
        f" min/median/max; load {os.getloadavg()}"
    )
    for case in _cases():
        triggers = [Trigger("geofence:3", STORE, Transition.ENTER, NOW)]
        got = decide_all(
            profile=case.profile,
            triggers=triggers,
            offers=case.offers,
            sent_today=frozenset(),
            pushed_today=case.pushed_today,
            looks=case.looks,
        )
        assert len(got) == case.decisions, (case.label, len(got))
        rates, each = [], []
        for _ in range(runs):
            rate, ns = _timed(case, calls)
            rates.append(rate)
            each.extend(ns)
        each.sort()
        p50, p99 = each[len(each) // 2] / 1000, each[int(len(each) * 0.99)] / 1000
        sent = sum(1 for d in got if d.suppressed is None)
        print(
            f"  {case.label:<31} {spread(rates):>22} decide_all/s"
            f"   per call p50 {p50:,.1f} us, p99 {p99:,.1f} us"
            f"   ({sent} sent, {len(got) - sent} held back)"
        )
    print(f"  load at the end: {os.getloadavg()}")

"""What a simulation counts: requests and their answers, events, what the server decided,
latency per second of the run. Pure bookkeeping: the caller passes the clock."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The first seconds of a walk are a cold start no running city has: every shopper already
# inside a shop ENTERs it at their first fix, all at once. The summary gives the figures
# from this second on apart, as the steady state.
STEADY_AFTER_S = 30


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Second:
    requests: int = 0
    events: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    decided_ms: list[float] = field(default_factory=list)


@dataclass
class Stats:
    """Every answer of a run, by second since ``started`` (a monotonic time)."""

    started: float
    requests: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # status code, or "transport"
    expected: Counter[str] = field(default_factory=Counter)  # refusals the run meant to cause
    waited: Counter[str] = field(default_factory=Counter)  # answers waited out, then sent again
    by_endpoint: Counter[str] = field(default_factory=Counter)
    events_sent: Counter[str] = field(default_factory=Counter)  # fix, sighting, tap
    bad_fixes: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    decisions: int = 0
    actions: Counter[str] = field(default_factory=Counter)  # opened, look_opened, redeemed…
    retries_waited_s: float = 0.0
    # Latencies are kept per second only: the whole run's and the steady state's figures
    # are spans of them. ``Second.decided_ms``: requests whose answer carried a
    # notification; the push was enqueued before the answer left (after the commit), so
    # this bounds the time from event arrival to enqueued push.
    seconds: list[Second] = field(default_factory=list)

    def _second(self, now: float) -> Second:
        index = max(0, int(now - self.started))
        while len(self.seconds) <= index:
            self.seconds.append(Second())
        return self.seconds[index]

    def answered(
        self, *, now: float, endpoint: str, status: int | None, latency_s: float, events: int
    ) -> None:
        """One request answered (``status`` None: no answer, a transport error)."""
        self.requests += 1
        self.by_endpoint[endpoint] += 1
        if status is not None and 200 <= status < 300:
            self.ok += 1
        else:
            self.errors["transport" if status is None else str(status)] += 1
        second = self._second(now)
        second.requests += 1
        second.events += events
        if status is not None:
            second.latencies_ms.append(latency_s * 1000.0)

    def decided(self, *, now: float, latency_s: float) -> None:
        """A request whose answer carried a notification, answered at ``now``."""
        self._second(now).decided_ms.append(latency_s * 1000.0)

    def outcome(self, body: dict[str, Any]) -> None:
        """What an event endpoint's 200 says: accepted, ignored, transitions, decisions."""
        self.accepted += int(body.get("accepted", 0))  # a count, or a tap's true/false
        ignored = body.get("ignored") or {}
        if isinstance(ignored, dict):
            self.ignored.update({str(k): int(v) for k, v in ignored.items()})
        elif isinstance(ignored, str):
            self.ignored[ignored] += 1
        for event in body.get("events", []):
            self.transitions[str(event.get("transition"))] += 1
        self.decisions += len(body.get("notifications", []))

    def window(self, now: float, span_s: int = 5) -> dict[str, float]:
        """The last ``span_s`` whole seconds: events/s, requests/s and latency percentiles."""
        last = int(now - self.started)
        picked = self.seconds[max(0, last - span_s) : last] or self.seconds[-1:]
        latencies = [ms for s in picked for ms in s.latencies_ms]
        n = max(1, len(picked))
        return {
            "events_per_s": sum(s.events for s in picked) / n,
            "requests_per_s": sum(s.requests for s in picked) / n,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
        }

    def series(self) -> list[dict[str, float]]:
        return [
            {
                "second": i,
                "events": s.events,
                "requests": s.requests,
                "p50_ms": round(percentile(s.latencies_ms, 50), 2),
                "p99_ms": round(percentile(s.latencies_ms, 99), 2),
            }
            for i, s in enumerate(self.seconds)
        ]

    def summary(self, elapsed_s: float) -> dict[str, Any]:
        events = sum(self.events_sent.values())
        return {
            "elapsed_s": round(elapsed_s, 3),
            "requests": self.requests,
            "ok": self.ok,
            "errors": dict(sorted(self.errors.items())),
            "expected_refusals": dict(sorted(self.expected.items())),
            "waited_out": dict(sorted(self.waited.items())),
            "unexpected_errors": sum(self.errors.values())
            - sum(self.expected.values())
            - sum(self.waited.values()),
            "server_errors": sum(n for k, n in self.errors.items() if k.startswith("5")),
            "by_endpoint": dict(sorted(self.by_endpoint.items())),
            "events_sent": dict(sorted(self.events_sent.items())),
            "events_per_s": round(events / elapsed_s, 2) if elapsed_s > 0 else 0.0,
            "requests_per_s": round(self.requests / elapsed_s, 2) if elapsed_s > 0 else 0.0,
            "bad_fixes": dict(sorted(self.bad_fixes.items())),
            "accepted": self.accepted,
            "ignored": dict(sorted(self.ignored.items())),
            "transitions": dict(sorted(self.transitions.items())),
            "decisions": self.decisions,
            "actions": dict(sorted(self.actions.items())),
            "retry_after_waited_s": round(self.retries_waited_s, 3),
            **_latencies(self.seconds),
            "steady": {"after_s": STEADY_AFTER_S, **_latencies(self.seconds[STEADY_AFTER_S:])},
        }


def _latencies(seconds: list[Second]) -> dict[str, dict[str, float]]:
    return {
        "latency_ms": _latency([ms for s in seconds for ms in s.latencies_ms]),
        "latency_with_push_ms": _with_push([ms for s in seconds for ms in s.decided_ms]),
    }


def _latency(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values, default=0.0), 2),
    }


def _with_push(values: list[float]) -> dict[str, float]:
    return {
        "requests": len(values),
        "p50": round(percentile(values, 50), 2),
        "p99": round(percentile(values, 99), 2),
    }

"""The server's Prometheus counters, and the one function per thing counted.

Domains count here (services and flows, never the pure cores) without importing the app;
``server.metrics`` exposes them at ``/metrics`` with the request latencies and the values
read at scrape time (index size, Celery queue). Labels are closed vocabularies (results,
reasons, kinds from our code): never a user, a token or an id, so a series per label value
stays bounded.

Each process counts its own (see README, Observability): with several uvicorn workers
Prometheus scrapes each, or sums what the load balancer happens to reach.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter

FIXES = Counter(
    "vicinity_fixes_total",
    "Location fixes received, by result (accepted, ignored) and why ignored.",
    ["result", "reason"],
)
SIGHTINGS = Counter(
    "vicinity_sightings_total",
    "Beacon sightings received, by result (accepted, ignored) and why ignored.",
    ["result", "reason"],
)
TRANSITIONS = Counter(
    "vicinity_transitions_total",
    "Presence transitions saved, by zone kind (geofence, beacon, nfc…) and transition.",
    ["kind", "transition"],
)
DECISIONS = Counter(
    "vicinity_decisions_total",
    "Notification decisions, by outcome (sent, suppressed, none) and reason.",
    ["outcome", "reason"],
)
PUSHES = Counter(
    "vicinity_pushes_total",
    "Push attempts per device, by result (sent, retry, dropped, failed).",
    ["result"],
)
WEBHOOK_DELIVERIES = Counter(
    "vicinity_webhook_deliveries_total",
    "Webhook delivery attempts, by result.",
    ["result"],
)


def _observed(counter: Counter, accepted: int, ignored: Mapping[str, int]) -> None:
    if accepted:
        counter.labels("accepted", "").inc(accepted)
    for reason, count in ignored.items():
        if count:
            counter.labels("ignored", reason).inc(count)


def count_fixes(accepted: int, ignored: Mapping[str, int]) -> None:
    """A batch of fixes: how many were accepted, and the ignored ones by reason."""
    _observed(FIXES, accepted, ignored)


def count_sightings(accepted: int, ignored: Mapping[str, int]) -> None:
    """A batch of sightings: how many were accepted, and the ignored ones by reason."""
    _observed(SIGHTINGS, accepted, ignored)


def count_transition(kind: str, transition: str) -> None:
    """One presence transition (``ZoneKey`` kind, ``Transition`` value)."""
    TRANSITIONS.labels(kind, transition).inc()


def count_decision(outcome: str, reason: str) -> None:
    """One decision: ``sent`` (reason: the rule), ``suppressed`` (reason: the preference
    that held it back) or ``none`` (reason: why nothing was decided)."""
    DECISIONS.labels(outcome, reason).inc()


def count_push(result: str) -> None:
    """One device's answer to a push: ``sent``, ``retry``, ``dropped`` or ``failed``."""
    PUSHES.labels(result).inc()


def count_webhook_delivery(result: str) -> None:
    """One webhook delivery attempt; ``result`` is a closed vocabulary such as
    ``delivered``, ``retry``, ``failed`` or ``gave_up`` (never a URL or an endpoint id).

    For ``events/``: call it once per attempt, after the HTTP answer (or its absence).
    """
    WEBHOOK_DELIVERIES.labels(result).inc()

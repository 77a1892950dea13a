"""The simulator's only door into Vicinity: HTTP requests, each counted in a :class:`Stats`.

A 429 (rate limit), a 409 ``busy`` (the user's presence is being changed) or a 503 comes
with ``Retry-After``: the phone waits that long and sends the same request again, as the
API asks; each answer, the refusals included, is counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import httpx

from simulator.core import Fix, Send, Sighting, Tap
from simulator.stats import Stats

# A phone keeps trying while the run lasts: a rate limit shared by every virtual phone (one
# address) can refuse the same sign-up several times over before its turn comes.
MAX_RETRIES = 20
MAX_WAIT_S = 120.0  # longer asks are taken as this (a confused clock, not a plan)
RETRYABLE = frozenset({429, 503})


def retry_after_s(response: httpx.Response) -> float | None:
    """The wait ``Retry-After`` asks for, in seconds (delta form; a date counts as 1 s)."""
    if response.status_code not in RETRYABLE and not _busy(response):
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return 1.0 if response.status_code == 429 else None
    try:
        return min(MAX_WAIT_S, max(0.0, float(value)))
    except ValueError:
        return 1.0


def _busy(response: httpx.Response) -> bool:
    if response.status_code != 409:
        return False
    try:
        return bool(response.json().get("error") == "busy")
    except ValueError:
        return False


class Api:
    """Requests through one ``httpx.AsyncClient``, at most ``concurrency`` at once."""

    def __init__(
        self, client: httpx.AsyncClient, stats: Stats, *, concurrency: int, deadline: float
    ) -> None:
        self.client = client
        self.stats = stats
        self.deadline = deadline  # monotonic: no Retry-After wait past it
        self._slots = asyncio.Semaphore(concurrency)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        endpoint: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        events: int = 0,
        expect: Collection[int] = (),
    ) -> httpx.Response | None:
        """The final answer (after honoured waits), or None when the server was unreachable."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for attempt in range(MAX_RETRIES + 1):
            async with self._slots:
                start = time.monotonic()
                try:
                    response = await self.client.request(
                        method, path, json=body, params=params, headers=headers
                    )
                except httpx.TransportError:
                    response = None
                now = time.monotonic()
            status = None if response is None else response.status_code
            self.stats.answered(
                now=now, endpoint=endpoint, status=status, latency_s=now - start, events=events
            )
            if response is None:
                return None
            wait = retry_after_s(response)
            if wait is not None and attempt < MAX_RETRIES and now + wait < self.deadline:
                self.stats.waited[str(response.status_code)] += 1
                self.stats.retries_waited_s += wait
                await asyncio.sleep(wait)
                continue
            if status in expect:
                self.stats.expected[str(status)] += 1
            return response
        return None


def stamp(epoch: float, at: float) -> str:
    """ISO 8601 in UTC, to the millisecond: what a phone's SDK sends."""
    when = datetime.fromtimestamp(epoch + at, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_request(send: Send, epoch: float) -> tuple[str, dict[str, Any], tuple[int, ...]]:
    """The path, body and expected refusals of what the phone sends."""
    first = send.events[0]
    if isinstance(first, Tap):
        body = {"uid": first.uid, "tapped_at": stamp(epoch, first.at), "store_id": first.store_id}
        return "/v1/me/taps", body, ()
    if isinstance(first, Sighting):
        sightings = []
        for s in send.events:
            assert isinstance(s, Sighting)
            beacon = {"uuid": s.beacon.uuid, "major": s.beacon.major, "minor": s.beacon.minor}
            sightings.append({"ibeacon": beacon, "rssi": s.rssi, "recorded_at": stamp(epoch, s.at)})
        return "/v1/me/sightings", {"sightings": sightings}, ()
    fixes = []
    refused: tuple[int, ...] = ()
    for f in send.events:
        assert isinstance(f, Fix)
        fix: dict[str, Any] = {"lat": f.lat, "lon": f.lon, "recorded_at": stamp(epoch, f.at)}
        if f.accuracy_m is None:
            refused = (422,)  # the API requires an accuracy: this one is meant to be refused
        else:
            fix["accuracy_m"] = f.accuracy_m
        fixes.append(fix)
    return "/v1/me/locations", {"fixes": fixes}, refused

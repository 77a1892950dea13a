"""Rate limits per user token and per client IP, checked before routing.

A pure ASGI middleware in front of the router, so the fast lane (a route like any other)
is covered, and a refused request costs no body read, no routing and no thread-pool hop.
What is limited (``VICINITY_RATE_*``, in the ``limits`` library's notation):

* sign-up (``POST /v1/users``) per client IP;
* every event a phone reports (fixes, sightings, NFC taps, an opened push or look) per
  user token **and** per client IP, each counted on its own.

Windows are fixed and start at their first hit, as ``limits``' fixed-window strategy
counts them (same keys: ``limits``' own ``key_for``). With Redis, every counter a request
touches is incremented by one Lua script: **one async round trip per limited request**,
whatever the number of limits; requests to other routes cost none. Embedded (no Redis),
the counters live in ``limits``' in-process async memory storage. A refusal is
``429 too_many_requests`` with ``Retry-After``: the seconds until the fullest refused
window frees.

The client IP is the ASGI scope's ``client``: behind a proxy, uvicorn's
``--proxy-headers --forwarded-allow-ips=<proxy>`` puts the caller's address there; a
client's own ``X-Forwarded-For`` is never read here. Redis unreachable: the request goes
through unlimited (logged) rather than refused, since availability beats a limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
import redis.asyncio
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from prometheus_client import Counter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.config import Settings
from server.handlers import error_body

log = logging.getLogger(__name__)

SIGNUP = "/v1/users"
EVENTS = frozenset({"/v1/me/locations", "/v1/me/sightings", "/v1/me/taps"})
_OPENED = re.compile(r"/v1/me/(?:notifications|looks)/[^/]+/opened")
PREFIX = "vicinity:rate:"

REFUSED = Counter(
    "vicinity_rate_limited",
    "Requests refused (429) by a rate limit, by limit.",
    ["limit"],
)
UNCHECKED = Counter(
    "vicinity_rate_limits_unchecked",
    "Requests let through unchecked because Redis was unreachable.",
)
WARN_EVERY_S = 10.0

# INCR each key, start its window on the first hit (or if it somehow lost its TTL), and
# return [count, ms left] per key: every limit of a request in one round trip.
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local left = redis.call('PTTL', key)
  if left < 0 then
    redis.call('EXPIRE', key, ARGV[i])
    left = tonumber(ARGV[i]) * 1000
  end
  out[#out + 1] = count
  out[#out + 1] = left
end
return out
"""


@dataclass(frozen=True, slots=True)
class Hit:
    """One limit counted for one identity (a token's digest, an IP)."""

    name: str
    item: RateLimitItem
    who: str

    @property
    def key(self) -> str:
        return PREFIX + self.item.key_for(self.name, self.who)


class Counters(Protocol):
    async def hit(self, hits: Sequence[Hit]) -> list[tuple[int, float]]:
        """Count each hit; (count in its window, seconds until the window ends) each."""
        ...

    async def aclose(self) -> None: ...


class RedisCounters:
    # Requests wait (up to the timeout) for one of these connections rather than open more.
    MAX_CONNECTIONS = 64

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: redis.asyncio.Redis | None = None
        self._hit: redis.commands.core.AsyncScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _script(self) -> redis.commands.core.AsyncScript:
        # A client per event loop: an async connection belongs to the loop that opened it
        # (one per worker process; tests may run apps in several loops).
        loop = asyncio.get_running_loop()
        if self._hit is None or self._loop is not loop:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.MAX_CONNECTIONS,
                timeout=1.0,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
            )
            self._client = redis.asyncio.Redis.from_pool(pool)  # closing it closes the pool
            self._hit = self._client.register_script(_HIT)
            self._loop = loop
        return self._hit

    async def hit(self, hits: Sequence[Hit]) -> list[tuple[int, float]]:
        keys = [h.key for h in hits]
        expiries = [h.item.get_expiry() for h in hits]
        flat = await self._script()(keys=keys, args=expiries)
        return [(int(flat[i]), int(flat[i + 1]) / 1000) for i in range(0, len(flat), 2)]

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client, self._hit = None, None


class MemoryCounters:
    """The embedded default: one process, so its memory is the whole truth."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()

    async def hit(self, hits: Sequence[Hit]) -> list[tuple[int, float]]:
        counted = []
        for h in hits:
            count = await self.storage.incr(h.key, h.item.get_expiry())
            counted.append((count, await self.storage.get_expiry(h.key) - time.time()))
        return counted

    async def aclose(self) -> None:
        await self.storage.reset()


def _token_digest(scope: Scope) -> str | None:
    """A digest of the bearer token: counters never hold a credential."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return hashlib.blake2b(token.strip(), digest_size=16).hexdigest()
    return None


def _parse(limits: str) -> list[RateLimitItem]:
    return parse_many(limits) if limits else []  # empty: no limit of this kind


class RateLimiter:
    """Which limits a request counts against, and whether it is over one."""

    def __init__(self, settings: Settings, counters: Counters) -> None:
        self.signup_ip = _parse(settings.rate_signup_per_ip)
        self.events_token = _parse(settings.rate_events_per_token)
        self.events_ip = _parse(settings.rate_events_per_ip)
        self.counters = counters
        self._warned = -WARN_EVERY_S

    @classmethod
    def of(cls, settings: Settings) -> RateLimiter | None:
        """The limiter the settings ask for; None when limits are off."""
        if not settings.rate_limits:
            return None
        url = settings.redis_url
        return cls(settings, MemoryCounters() if url is None else RedisCounters(url))

    def hits(self, scope: Scope) -> list[Hit]:
        if scope["method"] != "POST":
            return []
        path: str = scope["path"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if path == SIGNUP:
            return [Hit("signup-ip", item, ip) for item in self.signup_ip]
        if path in EVENTS or (path.startswith("/v1/me/") and _OPENED.fullmatch(path)):
            token = _token_digest(scope)
            by_ip = [Hit("events-ip", item, ip) for item in self.events_ip]
            if token is None:  # refused by the route anyway; the address still counts
                return by_ip
            return [*(Hit("events-token", item, token) for item in self.events_token), *by_ip]
        return []

    async def refusal(self, hits: Sequence[Hit]) -> tuple[Hit, float] | None:
        """The limit this request is over, and the seconds until it frees; None if none."""
        try:
            counted = await self.counters.hit(hits)
        except redis.RedisError as error:
            UNCHECKED.inc()
            now = time.monotonic()
            if now - self._warned > WARN_EVERY_S:  # one line, not one per request
                self._warned = now
                log.warning("rate limits not checked, Redis unreachable: %s", error)
            return None
        pairs = zip(hits, counted, strict=True)
        over = [(h, left) for h, (count, left) in pairs if count > h.item.amount]
        return max(over, key=lambda o: o[1]) if over else None

    async def aclose(self) -> None:
        await self.counters.aclose()


_WHO = {"signup-ip": "this address", "events-token": "this token", "events-ip": "this address"}


class RateLimit:
    """The middleware: counts the limited routes' requests, answers 429 past a limit."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hits = self.limiter.hits(scope) if scope["type"] == "http" else []
        refused = await self.limiter.refusal(hits) if hits else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        hit, left = refused
        retry_after = max(1, math.ceil(left))
        REFUSED.labels(hit.name).inc()
        detail = (
            f"too many requests from {_WHO[hit.name]}: the limit is {hit.item}; "
            f"retry in {retry_after} s"
        )
        headers = {"Retry-After": str(retry_after)}
        await JSONResponse(error_body(429, detail), 429, headers=headers)(scope, receive, send)

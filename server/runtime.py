"""The process-wide objects: engine, sessions, geofence index, presence, push sender.

Built once per process (API server or Celery worker) from the one ``Settings``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import redis
import redis.asyncio as aioredis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from beacons.sightings import replay_window_s
from beacons.store import MemorySightingStore, RedisSightingStore, SightingStore
from beacons.sync import EidDirectory
from funnel import counters as funnel_counters
from geofence.core import GeofenceIndex
from geofence.screening import Screening
from geofence.sync import IndexSync
from kernel.config import Settings, get_settings
from kernel.db import Transact, make_engine, make_session_factory
from notifications.push import PushSender, make_sender
from preferences.shares import names_user_to
from presence.store import (
    AsyncPresence,
    MemoryPresenceStore,
    PresenceStore,
    RedisPresenceStore,
)

T = TypeVar("T")

# A command to Redis takes well under a millisecond: one that has not answered in a second
# finds Redis stalled (a frozen process, a lost host), and the request is refused (503)
# rather than held for redis-py's default of 5 s per command, as the rate limiter's is.
REDIS_TIMEOUT_S = 1.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    index: GeofenceIndex
    presence: PresenceStore
    redis: redis.Redis | None
    push: PushSender
    index_sync: IndexSync
    eids: EidDirectory
    sightings: SightingStore
    # The hot paths' Redis from the event loop (None when embedded): lock, load and save
    # of presence without a thread, the database reached only when something happened.
    aredis: aioredis.Redis | None = None
    presence_async: AsyncPresence | None = None
    # The hot paths' blocking work (Redis, then the database when something changed) runs
    # here rather than through anyio's thread pool: one executor hop costs about half
    # of anyio's (no capacity limiter, no cancellation checkpoint), measured by py-spy as
    # a quarter of a worker's CPU. One thread per pooled connection, so none waits for one.
    hot_threads: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        size = self.settings.db_pool_size
        self.hot_threads = ThreadPoolExecutor(size, thread_name_prefix="vicinity-hot")
        self.transact = Transact(self.blocking, self.sessions)

    async def blocking(self, work: Callable[[], T]) -> T:
        """Run a hot path's blocking ``work`` off the event loop."""
        # In the request's context (an O(1) copy), so its logs carry the request id.
        run = contextvars.copy_context().run
        return await asyncio.get_running_loop().run_in_executor(self.hot_threads, run, work)

    @property
    def screening(self) -> Screening:
        s = self.settings
        return Screening(
            s.max_accuracy_m,
            s.max_fix_age_s,
            s.exit_margin_m,
            s.max_clock_skew_s,
            s.dwell_step_s,
            s.max_speed_kmh,
        )

    def names_user(self, session: Session, user_id: int, store_id: int) -> bool:
        """Whether a store's webhooks may carry this user's id (their choice, read now)."""
        return names_user_to(
            session,
            user_id=user_id,
            store_id=store_id,
            default_policy=self.settings.policy_version,
        )

    def load_index(self) -> None:
        self.index_sync.reload()

    def close(self) -> None:
        self.index_sync.stop()
        self.eids.stop()
        self.hot_threads.shutdown(wait=True)
        if self.redis is not None:
            self.redis.close()
        self.engine.dispose()

    async def aclose(self) -> None:
        """Close the event loop's connections, from the loop that used them."""
        if self.aredis is not None:
            await self.aredis.aclose()


def build(settings: Settings) -> Runtime:
    engine = make_engine(settings)
    url, wait = settings.redis_url, REDIS_TIMEOUT_S
    client = (
        None
        if url is None
        else redis.Redis.from_url(url, socket_timeout=wait, socket_connect_timeout=wait)
    )
    aclient = (
        None
        if url is None
        else aioredis.Redis.from_url(url, socket_timeout=wait, socket_connect_timeout=wait)
    )
    stale_s, wait_s = settings.presence_stale_s, settings.presence_lock_wait_s
    presence: PresenceStore
    fast: AsyncPresence | None = None
    if client is None:
        presence = MemoryPresenceStore(settings.presence_ttl_s, stale_s=stale_s, wait_s=wait_s)
    else:
        presence = fast = RedisPresenceStore(
            client,
            settings.presence_ttl_s,
            stale_s=stale_s,
            lease_s=settings.presence_lock_lease_s,
            wait_s=wait_s,
            aclient=aclient,
        )
    push = make_sender(
        credentials_path=settings.fcm_credentials,
        project_id=settings.fcm_project_id,
        outbox_path=settings.outbox_path,
        fcm_url=settings.fcm_url,
        http_retries=settings.fcm_http_retries,
        outbox_max_bytes=settings.outbox_max_bytes,
        outbox_keep=settings.outbox_keep_files,
    )
    sessions = make_session_factory(engine)
    index = GeofenceIndex()
    sync = IndexSync(index, sessions, client, check_s=settings.index_check_s)
    track_ttl_s, replay_ttl_s = settings.beacon_track_ttl_s, replay_window_s(settings)
    sightings: SightingStore = (
        MemorySightingStore(track_ttl_s=track_ttl_s, replay_ttl_s=replay_ttl_s)
        if client is None
        else RedisSightingStore(
            client,
            track_ttl_s=track_ttl_s,
            replay_ttl_s=replay_ttl_s,
            pending_ttl_s=settings.presence_lock_lease_s,
        )
    )
    eids = EidDirectory(sessions, client, settings.eid_skew_periods, check_s=settings.index_check_s)
    # Module state, like the metrics: the domains count without reaching for the runtime.
    funnel_counters.install(funnel_counters.make_store(client))
    return Runtime(
        settings,
        engine,
        sessions,
        index,
        presence,
        client,
        push,
        sync,
        eids,
        sightings,
        aclient,
        fast,
    )


_current: Runtime | None = None


def current() -> Runtime:
    """This process's runtime; built from the environment on first use (Celery workers)."""
    global _current
    if _current is None:
        _current = build(get_settings())
        _current.load_index()
    return _current


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime

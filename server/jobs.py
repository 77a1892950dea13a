"""Scheduled jobs that span domains, wired here in the app.

``presence.expire``: find the users whose zones went stale and run the presence flow for
each, with the geofence index to place zones and the decision on the EXITs. Presence sits
below both, so the job that joins them lives in the app. Thin, like every task.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from geofence.tracking import zone_stores
from kernel.db import unit_of_work
from kernel.errors import Busy
from notifications.service import decide_events
from notifications.tasks import enqueue_delivery
from presence.flow import expire_stale
from server.celery import celery_app
from server.runtime import current

log = logging.getLogger(__name__)
BATCH = 1000


@celery_app.task(name="presence.expire")  # type: ignore[untyped-decorator]
def expire_presence() -> int:
    """EXIT (timeout) the zones of users not observed for ``presence_stale_s``, with the
    decision on those EXITs, before the presence TTL deletes them unseen."""
    rt = current()
    now = time.time()
    exits = 0
    for user_id in rt.presence.stale_users(now=now, limit=BATCH):
        try:
            with unit_of_work(rt.sessions) as session:
                done = expire_stale(
                    session,
                    user_id=user_id,
                    presence=rt.presence,
                    now=now,
                    store_of=zone_stores(rt.index),
                    decide=partial(
                        decide_events,
                        policy_version=rt.settings.policy_version,
                        enqueue=enqueue_delivery,
                    ),
                )
        except Busy:
            # A request of theirs is running: it sends the timeouts itself if still due.
            log.info("presence of user %s busy; its request handles staleness", user_id)
            continue
        exits += len(done.events)
    return exits

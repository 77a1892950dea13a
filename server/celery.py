"""The Celery application. Embedded mode runs tasks in-process (eager); otherwise Redis.

Workers: ``celery -A server.celery worker``; scheduled jobs: ``celery -A server.celery beat``.
"""

from __future__ import annotations

from celery import Celery

from kernel.config import Settings, get_settings
from server.logs import trace_tasks

TASKS = [
    "notifications.tasks",
    "beacons.tasks",
    "privacy.tasks",
    "rewards.tasks",
    "events.tasks",
    "funnel.tasks",
    "broadcast.tasks",
    "server.jobs",
]
celery_app = Celery("vicinity", include=TASKS)
trace_tasks()


def configure(settings: Settings) -> None:
    common = {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
    }
    celery_app.conf.beat_schedule = {
        "beacons.refresh_eids": {
            "task": "beacons.refresh_eids",
            "schedule": float(settings.eid_refresh_every_s),
        },
        "beacons.check_health": {
            "task": "beacons.check_health",
            "schedule": float(settings.beacon_health_every_s),
        },
        "privacy.purge": {"task": "privacy.purge", "schedule": 3600.0},
        "presence.expire": {
            "task": "presence.expire",
            "schedule": float(settings.presence_expire_every_s),
        },
        # Points past their store's return window become spendable.
        "rewards.release_pending": {"task": "rewards.release_pending", "schedule": 3600.0},
        # The safety net of push delivery: re-enqueues notifications whose task was lost.
        "notifications.sweep": {
            "task": "notifications.sweep",
            "schedule": float(settings.notification_sweep_every_s),
        },
        # The safety net of webhook delivery: re-enqueues deliveries whose task was lost.
        "events.sweep": {"task": "events.sweep", "schedule": 60.0},
        # The funnel's counts, from Redis (or memory) to the database.
        "funnel.flush": {"task": "funnel.flush", "schedule": float(settings.funnel_flush_every_s)},
    }
    if settings.redis_url is None or settings.celery_eager:
        celery_app.conf.update(
            broker_url=settings.redis_url or "memory://",
            task_always_eager=True,
            task_eager_propagates=True,
            **common,
        )
    else:
        celery_app.conf.update(
            broker_url=settings.redis_url,
            task_always_eager=False,
            task_ignore_result=True,
            **common,
        )
    reset_connections()


def reset_connections() -> None:
    """Publish through the broker configured now: drop the pools opened to a previous one.

    Celery keeps its producer pool for the life of the app (only a fork resets it), so a
    process that is configured twice (tests, drills) would otherwise keep publishing to the
    first broker.
    """
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


configure(get_settings())

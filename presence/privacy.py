"""Presence lives in Redis only, under per-user keys that expire by themselves."""

from __future__ import annotations

from presence.store import KEY
from privacy.registry import register_redis

register_redis("presence", KEY.format("{user_id}"), "vicinity:lock:presence:{user_id}")

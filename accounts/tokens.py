"""App-user tokens resolved from a short-lived in-process cache, for the hot paths.

``POST /v1/me/locations`` and ``/v1/me/sightings`` come several times a minute from
every phone; looking the token up in PostgreSQL each time cost more than matching the
fixes. A token is remembered for :data:`TTL_S` (five minutes), which is safe because
these paths never act on the cached id alone: each one first locks the user's presence,
and erasure seals presence before it commits (``presence.store``), so:

* an erased user's next fix fails at once, in every process, whatever this cache holds
  (the seal lives an hour, longer than any entry here);
* erasure through this process also forgets the user here after commit;
* an unknown token is never remembered, so a new user is never refused.

User tokens are not revoked any other way: erasure is how a token stops working.

Only the user's id is cached, never consent or preferences: those are read in the
transaction of every decision, so a withdrawal applies to the very next event.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.service import hash_secret
from kernel.errors import Unauthorized

TTL_S = 300.0
# Below the presence seal's hour, or an erased user's token could outlive the seal.
MAX_TTL_S = 900.0


class TokenCache:
    def __init__(self, ttl_s: float = TTL_S, maxsize: int = 100_000) -> None:
        if not 0 <= ttl_s <= MAX_TTL_S:
            raise ValueError(f"a token may be cached for at most {MAX_TTL_S} s")
        self._cache: TTLCache[str, int] = TTLCache(maxsize, ttl_s, timer=time.monotonic)
        # The event loop reads and fills it; erasure forgets from a worker thread.
        self._lock = threading.Lock()

    def get(self, token: str) -> int | None:
        with self._lock:
            return self._cache.get(hash_secret(token))

    def put(self, token: str, user_id: int) -> None:
        with self._lock:
            self._cache[hash_secret(token)] = user_id

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._cache.items() if v == user_id]:
                self._cache.pop(key, None)


# One per process: the API's hot paths read it, erasure in this process clears it.
user_tokens = TokenCache()


def user_id_for_token(session: Session, token: str) -> int:
    """The plain indexed lookup (no ORM entity): the cache's miss path."""
    user_id = session.scalar(select(User.id).where(User.token_hash == hash_secret(token)))
    if user_id is None:
        raise Unauthorized("unknown or revoked user token")
    return user_id


@dataclass(frozen=True, slots=True)
class AppCaller:
    """A user token checked for shape, its user resolved from the cache when it could be.

    A miss is resolved by :meth:`user_id` in the request's own worker thread and session,
    so it costs the same thread-pool hop and connection as the work that follows.
    """

    token: str
    cached_id: int | None

    def user_id(self, session: Session) -> int:
        if self.cached_id is not None:
            return self.cached_id
        user_id = user_id_for_token(session, self.token)
        user_tokens.put(self.token, user_id)
        return user_id

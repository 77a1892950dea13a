"""Who is calling: an authenticated staff API key, its role and the stores it may act on.

Every domain's service checks its caller against this; ``accounts`` issues and resolves
the keys behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kernel.errors import Forbidden


class Role(StrEnum):
    OPERATOR = "operator"
    STORE = "store"
    TECH = "tech"


@dataclass(frozen=True, slots=True)
class Staff:
    """An authenticated API key: its role and the stores it may touch.

    Store and tech keys act on their ``store_ids`` only (none: on nothing); a tech key with
    ``all_stores`` acts on the whole fleet. The operator acts on every store.
    """

    key_id: int
    role: Role
    store_ids: frozenset[int]
    all_stores: bool = False

    @property
    def scope(self) -> frozenset[int] | None:
        """The stores this key is limited to; ``None`` for the whole fleet."""
        return None if self.role is Role.OPERATOR or self.all_stores else self.store_ids

    def covers(self, store_id: int) -> bool:
        scope = self.scope
        return scope is None or store_id in scope

    def can_manage(self, store_id: int) -> bool:
        return self.role is Role.OPERATOR or (
            self.role is Role.STORE and store_id in self.store_ids
        )

    def require_store(self, store_id: int) -> None:
        if not self.can_manage(store_id):
            raise Forbidden(f"this key may not manage store {store_id}")

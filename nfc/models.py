"""NFC tags a store has placed: one row per physical tag, known by its UID.

A tap puts the user in the zone ``nfc:<store_id>:<placement>`` (``nfc.core.zone_of``).
A tag's UID is unique across all stores: a physical tag is in one shop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, utcnow
from nfc.core import PLACEMENT_MAX, UID_MAX


class NfcTag(Base):
    __tablename__ = "nfc_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(UID_MAX), unique=True)  # upper-case hex
    placement: Mapped[str] = mapped_column(String(PLACEMENT_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""Looks: outfits users post, tagged with catalogue items and brands: tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import Base, UTCDateTime, utcnow


class Look(Base):
    """A user's post: a caption, hashtags, at most one image (an uploaded file under
    ``image_key`` in the image store, or an https ``image_url``) and its tags."""

    __tablename__ = "looks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    caption: Mapped[str] = mapped_column(String(500), default="")
    # Lowercase, without the '#'.
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tags: Mapped[list[LookTag]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="LookTag.id",
    )


class LookTag(Base):
    """What a look features: one catalogue item or one brand. A tag goes with its item or
    brand when the catalogue deletes it."""

    __tablename__ = "look_tags"
    __table_args__ = (
        CheckConstraint(
            "(item_id IS NULL) <> (brand_id IS NULL)", name="ck_look_tags_item_or_brand"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    look_id: Mapped[int] = mapped_column(ForeignKey("looks.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), nullable=True, index=True
    )
    brand_id: Mapped[int | None] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), nullable=True, index=True
    )


class LookOpen(Base):
    """A user opened a friend's look. ``creator_id`` is the look's author, kept apart from
    the look so how often someone opens a friend's looks survives a deleted look."""

    __tablename__ = "look_opens"
    __table_args__ = (Index("ix_look_opens_user_id_opened_at", "user_id", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    look_id: Mapped[int | None] = mapped_column(
        ForeignKey("looks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

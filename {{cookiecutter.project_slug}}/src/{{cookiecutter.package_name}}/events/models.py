"""Tables of the event machinery: the transactional outbox and the consumers' bookkeeping.

A consumer's own tables live with its feature (`items/counters.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.base import Base, UTCDateTime

PENDING, SENT, DEAD = "pending", "sent", "dead"


class OutboxEvent(Base):
    """An event written in the same transaction as the change it describes.

    The relay publishes `pending` rows in id order and marks them `sent`; after
    OUTBOX_MAX_ATTEMPTS failed publishes, or when the payload no longer parses, a row becomes
    `dead` and a copy goes to the dead-letter queue.
    """

    __tablename__ = "outbox_events"
    # The relay's query: status = 'pending' ... ORDER BY id LIMIT n, served by this index.
    __table_args__ = (Index("ix_outbox_events_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class ProcessedEvent(Base):
    """Event ids a consumer has applied: the dedupe record of an idempotent consumer."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

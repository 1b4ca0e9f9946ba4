"""The table of idempotency keys: one row per (caller, key), with the first request's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db.base import Base, UTCDateTime
from {{ cookiecutter.package_name }}.idempotency.keys import MAX_CALLER_LENGTH, MAX_KEY_LENGTH


class IdempotencyKey(Base):
    """A claimed key and, once its request succeeded, the answer (status NULL until then).

    Inserted first in its request's transaction, so a concurrent retry waits on the primary
    key; the answer is stored before the commit, with the effect.
    """

    __tablename__ = "idempotency_keys"
    # The purge's query: expires_at <= now, in batches.
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    caller: Mapped[str] = mapped_column(String(MAX_CALLER_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    headers: Mapped[str | None] = mapped_column(Text, default=None)  # JSON [[name, value], ...]
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

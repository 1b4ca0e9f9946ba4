"""IDEMPOTENCY_* settings: how long a key's answer is kept, how long a retry waits for it."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class IdempotencySettings(BaseSettings):
    """The `Idempotency-Key` of POSTs (idempotency/)."""

    # A retry with the key within this time gets the stored answer; later the key is new again,
    # and `purge-idempotency-keys` (the chart's CronJob) deletes it. 24 h by default.
    idempotency_key_ttl_seconds: int = Field(default=86_400, ge=1)
    # How long a retry waits for a first request still in flight before its 409 (PostgreSQL;
    # SQLite's single writer makes it wait DATABASE_CONNECT_TIMEOUT like any write). A waiting
    # retry holds a pool connection, so keep it short.
    idempotency_wait_seconds: float = Field(default=2.0, gt=0, le=60)

"""Settings of the events feature: the broker's (next to its adapter), the prefix, the relay's."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.events.broker import DEFAULT_URL


class EventsSettings(BaseSettings):
    """BROKER_URL, EVENTS_PREFIX, OUTBOX_* and WORKER_HEALTH_PORT; read by the root Settings."""

    # Where the broker is; its adapter (`events/brokers/`) knows the local default.
    broker_url: SecretStr = SecretStr(DEFAULT_URL)

    # Broker names (exchange, topics, queues, stream) all start with this prefix.
    events_prefix: str = Field(default="{{ cookiecutter.project_slug }}", pattern=r"^[a-z0-9][a-z0-9-]*$")
    # Outbox relay (the worker): rows per transaction, idle poll and retry policy.
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_max_backoff_seconds: float = Field(default=300.0, gt=0)
    worker_health_port: int = Field(default=8001, ge=0, le=65535)  # 0: any free port
